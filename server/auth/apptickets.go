package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riseplatform/rise/server/identity"
)

// Cross-host browser sessions for private apps (oauth2-proxy style).
//
// A browser logs in on rise's own host, which keeps a host-only
// rise_session cookie. To reach a private app on another host, rise sends
// the browser to <app origin>/.rise/callback?ticket=<ticket>&rd=<path>. The
// ticket is a signed token, valid for TicketTTL, bound to that app host
// (audience "rise-ticket:<host>") and single use across replicas (its id is
// recorded in the app_tickets table). The edge redeems it for an app
// session token (audience "rise-app:<host>") that it keeps in a host-only
// cookie on the app host. Neither token is accepted by the API: their
// audiences are not "rise".
const (
	// TicketTTL is the lifetime of a login ticket.
	TicketTTL = 30 * time.Second
	// AppSessionTTL bounds an app session (it also ends with the rise
	// session it came from). Renewal is painless: an app host without a
	// valid app session sends the browser to rise's login, which carries a
	// still-valid rise session straight back with a new ticket.
	AppSessionTTL = 2 * time.Hour

	ticketAudPrefix = "rise-ticket:"
	appAudPrefix    = "rise-app:"
	// ticketLeeway tolerates clock skew between replicas.
	ticketLeeway = 5 * time.Second
)

// appClaims are the claims of a ticket or an app session token.
type appClaims struct {
	tokenClaims
	// SessionExpiry is when the rise session the ticket came from ends;
	// the app session never outlives it.
	SessionExpiry *jwt.NumericDate `json:"sexp,omitempty"`
	// Sid is the jti of that rise session: revoking it (logout) ends the
	// app sessions it made too.
	Sid string `json:"sid,omitempty"`
}

// AppHost normalizes a Host header or URL host for ticket audiences:
// lower case, no port (cookies are not port-scoped either), no trailing dot.
func AppHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// sign signs claims with the server's key.
func (s *Service) sign(claims any) (string, error) {
	sig, err := jose.NewSigner(
		jose.SigningKey{Algorithm: s.key.alg, Key: jose.JSONWebKey{Key: s.key.priv, KeyID: s.key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("auth: signer: %w", err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return tok, nil
}

// verifyApp checks a ticket or app session token: signature by the
// server's own key, issuer, exactly the audience aud, expiry.
func (s *Service) verifyApp(raw, aud string) (*appClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{s.key.alg})
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != s.key.kid {
		return nil, errors.New("unknown signing key")
	}
	var c appClaims
	if err := tok.Claims(s.key.priv.Public(), &c); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if len(c.Audience) != 1 || c.Audience[0] != aud {
		return nil, fmt.Errorf("audience %v, want %q", []string(c.Audience), aud)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: s.issuer, Time: s.now()}, ticketLeeway); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if c.Expiry == nil || c.IssuedAt == nil || c.Subject == "" || c.ID == "" {
		return nil, errors.New("token lacks exp, iat, sub or jti")
	}
	return &c, nil
}

// issueTicket signs a login ticket for user userID on app host host; the
// app session it turns into ends no later than sessionExpiry and with the
// browser session sid.
func (s *Service) issueTicket(userID, host string, sessionExpiry time.Time, sid string) (string, error) {
	now := s.now()
	return s.sign(appClaims{
		tokenClaims: tokenClaims{Claims: jwt.Claims{
			Issuer:    s.issuer,
			Subject:   userID,
			Audience:  jwt.Audience{ticketAudPrefix + AppHost(host)},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(TicketTTL)),
			ID:        randomString(16),
		}},
		SessionExpiry: jwt.NewNumericDate(sessionExpiry),
		Sid:           sid,
	})
}

// RedeemTicket exchanges a login ticket presented on app host host (a Host
// header; the port is ignored) for an app session token for that host and
// its expiry. A ticket is accepted once, before it expires, on the host it
// was issued for; refusals wrap ErrInvalidCredentials (the detail is for
// logs), other errors are internal. It implements edge.Sessions.
func (s *Service) RedeemTicket(ctx context.Context, ticket, host string) (string, time.Time, error) {
	host = AppHost(host)
	c, err := s.verifyApp(ticket, ticketAudPrefix+host)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: ticket: %v", ErrInvalidCredentials, err)
	}
	if err := s.useTicket(ctx, c.ID, host, c.Expiry.Time()); err != nil {
		return "", time.Time{}, err
	}
	if c.Sid == "" {
		return "", time.Time{}, fmt.Errorf("%w: ticket without a session id", ErrInvalidCredentials)
	}
	// The user still exists and the session behind the ticket is not revoked.
	u, err := s.userIdentity(ctx, &c.tokenClaims, c.Sid)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	exp := now.Add(min(s.ttl, AppSessionTTL))
	if c.SessionExpiry != nil && c.SessionExpiry.Time().Before(exp) {
		exp = c.SessionExpiry.Time()
	}
	if !exp.After(now) {
		return "", time.Time{}, fmt.Errorf("%w: the rise session behind the ticket has ended", ErrInvalidCredentials)
	}
	tok, err := s.sign(appClaims{Sid: c.Sid, tokenClaims: tokenClaims{
		Claims: jwt.Claims{
			Issuer:    s.issuer,
			Subject:   u.UserID,
			Audience:  jwt.Audience{appAudPrefix + host},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(exp),
			ID:        randomString(16),
		},
		Email: u.Email, Name: u.Name,
	}})
	if err != nil {
		return "", time.Time{}, err
	}
	s.log.Info("browser session carried to an app host", "host", host, "user", u.Name)
	return tok, exp, nil
}

// useTicket records ticket id as redeemed; a second use is refused.
func (s *Service) useTicket(ctx context.Context, id, host string, exp time.Time) error {
	now := s.now()
	// Housekeeping: an expired ticket is refused by its signature check, so
	// its row is no longer needed.
	if _, err := s.db.Exec(ctx, `DELETE FROM app_tickets WHERE expires_at < $1`, now.Add(-time.Minute)); err != nil {
		return fmt.Errorf("auth: expire app tickets: %w", err)
	}
	tag, err := s.db.Exec(ctx, `INSERT INTO app_tickets (id, host, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		id, host, exp.Add(ticketLeeway))
	if err != nil {
		return fmt.Errorf("auth: record app ticket: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: ticket %s was already used", ErrInvalidCredentials, id)
	}
	return nil
}

// AppSessionIdentity authenticates an app session token (the edge's
// host-only cookie) presented on app host host. Refusals wrap
// ErrInvalidCredentials; other errors are internal. It implements
// edge.Sessions.
func (s *Service) AppSessionIdentity(ctx context.Context, token, host string) (*identity.Identity, error) {
	c, err := s.verifyApp(token, appAudPrefix+AppHost(host))
	if err != nil {
		return nil, fmt.Errorf("%w: app session: %v", ErrInvalidCredentials, err)
	}
	if c.Sid == "" {
		return nil, fmt.Errorf("%w: app session without a session id", ErrInvalidCredentials)
	}
	return s.userIdentity(ctx, &c.tokenClaims, c.Sid)
}

// appTarget returns where a logged-in browser goes for rd: rd itself on
// rise's own host, otherwise the app host's ticket callback (the
// rise_session cookie never reaches an app host). sid is the jti of the
// browser session.
func (s *Service) appTarget(rd, userID string, sessionExpiry time.Time, sid string) (string, error) {
	u, err := url.Parse(rd)
	if err != nil {
		return "", fmt.Errorf("auth: return address: %w", err)
	}
	host := AppHost(u.Host)
	if !s.isAppHost(host) {
		return rd, nil
	}
	ticket, err := s.issueTicket(userID, host, sessionExpiry, sid)
	if err != nil {
		return "", err
	}
	path := u.EscapedPath()
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	cb := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/.rise/callback",
		RawQuery: url.Values{"ticket": {ticket}, "rd": {path}}.Encode()}
	return cb.String(), nil
}

// isAppHost reports whether host (normalized) is <project>.<apps domain>
// or a verified custom domain, and not rise's own host.
func (s *Service) isAppHost(host string) bool {
	if host == s.publicHost() {
		return false
	}
	if s.isCustomDomain(host) {
		return true
	}
	if s.appsDomain == "" {
		return false
	}
	p, ok := strings.CutSuffix(host, "."+AppHost(s.appsDomain))
	return ok && p != "" && !strings.Contains(p, ".")
}

func (s *Service) publicHost() string {
	u, err := url.Parse(s.issuer)
	if err != nil {
		return ""
	}
	return AppHost(u.Host)
}

// isCustomDomain reports whether host (normalized) is a verified custom
// domain of a project.
func (s *Service) isCustomDomain(host string) bool {
	return s.customs != nil && host != "" && s.customs(host)
}
