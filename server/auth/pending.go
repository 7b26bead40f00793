package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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

func (s *Service) savePending(ctx context.Context, p *pendingLogin) error {
	// Housekeeping: drop expired requests as new ones come in.
	if _, err := s.db.Exec(ctx, `DELETE FROM auth_requests WHERE expires_at < now() - interval '1 hour'`); err != nil {
		return fmt.Errorf("auth: expire login requests: %w", err)
	}
	_, err := s.db.Exec(ctx, `
		INSERT INTO auth_requests (state, kind, provider, nonce, code_challenge, code_verifier, redirect_uri, return_to, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.State, p.Kind, p.Provider, p.Nonce, p.CodeChallenge, p.CodeVerifier, p.RedirectURI, p.ReturnTo, p.ExpiresAt)
	if err != nil {
		return fmt.Errorf("auth: save login request: %w", err)
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
