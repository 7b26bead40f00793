package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/server/httpx"
)

// Kinds of pending logins.
const (
	kindCLI     = "cli"     // CLI authorization code + PKCE (the CLI holds the verifier)
	kindBrowser = "browser" // browser session login (the server holds the verifier)
	kindDevice  = "device"  // device authorization grant, keyed by a hash of the device code
)

// pendingLogin is a row of auth_requests.
type pendingLogin struct {
	State, Kind, Provider, Nonce string
	CodeChallenge, CodeVerifier  string
	RedirectURI, ReturnTo        string
	ExpiresAt                    time.Time
}

// Bounds on pending (anonymous) logins: anyone can start one, so a client
// address and the whole server may only have so many open at once.
const (
	pendingPerIP = 20
	pendingMax   = 10000
)

// savePending stores a pending login started by client address ip; 429
// when ip or the server already has too many open (the bound is checked
// before the insert, so concurrent starts may overshoot it slightly).
func (s *Service) savePending(ctx context.Context, ip string, p *pendingLogin) error {
	if err := s.pendingBound(ctx, ip); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `
		INSERT INTO auth_requests (state, kind, provider, nonce, code_challenge, code_verifier, redirect_uri, return_to, expires_at, client_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		p.State, p.Kind, p.Provider, p.Nonce, p.CodeChallenge, p.CodeVerifier, p.RedirectURI, p.ReturnTo, p.ExpiresAt, ip)
	if err != nil {
		return fmt.Errorf("auth: save login request: %w", err)
	}
	return nil
}

// pendingBound answers 429 when client address ip or the whole server has
// too many pending logins open.
func (s *Service) pendingBound(ctx context.Context, ip string) error {
	// Housekeeping: drop expired requests as new ones come in.
	if _, err := s.db.Exec(ctx, `DELETE FROM auth_requests WHERE expires_at < now() - interval '1 hour'`); err != nil {
		return fmt.Errorf("auth: expire login requests: %w", err)
	}
	var mine, all int
	err := s.db.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM auth_requests WHERE client_ip = $1 AND expires_at > $2),
		(SELECT count(*) FROM (SELECT 1 FROM auth_requests WHERE expires_at > $2 LIMIT $3) open)`,
		ip, s.now(), pendingMax).Scan(&mine, &all)
	if err != nil {
		return fmt.Errorf("auth: count login requests: %w", err)
	}
	if mine >= pendingPerIP || all >= pendingMax {
		s.log.Warn("too many pending logins", "remote", ip, "from_remote", mine, "total", all)
		return httpx.NewError(http.StatusTooManyRequests, "too many logins are in progress; try again in a few minutes",
			"Pending logins expire after 10 minutes; finish or abandon the open ones.")
	}
	return nil
}

// takePending consumes a pending login exactly once: by state when given,
// otherwise by its PKCE challenge. A second take of the same request (code
// replay) finds nothing.
func (s *Service) takePending(ctx context.Context, kind, state, challenge string) (*pendingLogin, error) {
	q := `DELETE FROM auth_requests WHERE kind = $1 AND state = $2 RETURNING
		state, kind, provider, nonce, code_challenge, code_verifier, redirect_uri, return_to, expires_at`
	key := state
	if state == "" {
		q = `DELETE FROM auth_requests WHERE kind = $1 AND code_challenge = $2 AND code_challenge <> '' RETURNING
			state, kind, provider, nonce, code_challenge, code_verifier, redirect_uri, return_to, expires_at`
		key = challenge
	}
	var p pendingLogin
	err := s.db.QueryRow(ctx, q, kind, key).Scan(&p.State, &p.Kind, &p.Provider, &p.Nonce,
		&p.CodeChallenge, &p.CodeVerifier, &p.RedirectURI, &p.ReturnTo, &p.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: no pending login for this state/verifier (unknown, expired or already used)", ErrInvalidCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: take login request: %w", err)
	}
	if s.now().After(p.ExpiresAt) {
		return nil, fmt.Errorf("%w: login request expired at %s", ErrInvalidCredentials, p.ExpiresAt.Format(time.RFC3339))
	}
	return &p, nil
}
