package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/httpx"
)

// loginTTL bounds the time between authorize and code exchange.
const loginTTL = 10 * time.Minute

// provider is one configured OIDC identity provider; discovery happens on
// first successful use and is then cached.
type provider struct {
	cfg    *config.OIDCProvider
	client *http.Client

	mu      sync.Mutex
	op      *oidc.Provider
	lastErr error
	errAt   time.Time
}

func newProvider(c *config.OIDCProvider, client *http.Client) (*provider, error) {
	if c.Issuer == "" || c.ClientID == "" {
		return nil, fmt.Errorf("auth: oidc %q: issuer and client_id are required", c.Name)
	}
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("auth: oidc %q: issuer %q must be an absolute http(s) URL", c.Name, c.Issuer)
	}
	return &provider{cfg: c, client: client}, nil
}

// get returns the discovered provider. go-oidc refuses a discovery document
// whose issuer differs from the configured one.
func (p *provider) get(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.op, nil
	}
	if p.lastErr != nil && time.Since(p.errAt) < discoveryRetry {
		return nil, p.lastErr // an IdP that is down is not asked on every request
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), 15*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
	if err != nil {
		p.lastErr, p.errAt = fmt.Errorf("oidc %q discovery: %w", p.cfg.Name, err), time.Now()
		return nil, p.lastErr
	}
	p.op = op
	return op, nil
}

func (p *provider) oauth2Config(op *oidc.Provider, redirectURI string) *oauth2.Config {
	scopes := p.cfg.RequestScopes()
	ep := op.Endpoint()
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     ep,
		RedirectURL:  redirectURI,
		Scopes:       scopes,
	}
}

func (p *provider) isAdmin(email string) bool {
	for _, a := range p.cfg.AdminEmails {
		if strings.EqualFold(a, email) {
			return true
		}
	}
	return false
}

// pickProvider returns the named provider, or the first one.
func (s *Service) pickProvider(name string) (*provider, error) {
	if len(s.providers) == 0 {
		return nil, httpx.NewError(http.StatusNotFound, "no OIDC provider is configured on this server", "Use 'rise login --email' if local login is enabled.")
	}
	if name == "" {
		return s.providers[0], nil
	}
	for _, p := range s.providers {
		if p.cfg.Name == name {
			return p, nil
		}
	}
	names := make([]string, len(s.providers))
	for i, p := range s.providers {
		names[i] = p.cfg.Name
	}
	return nil, httpx.NewError(http.StatusBadRequest, fmt.Sprintf("unknown OIDC provider %q", name), "Configured providers: "+strings.Join(names, ", "))
}

// discover picks the named provider (see pickProvider) and returns it with
// its discovery, or an error for the caller (502 when the IdP is down).
func (s *Service) discover(ctx context.Context, name string) (*provider, *oidc.Provider, error) {
	p, err := s.pickProvider(name)
	if err != nil {
		return nil, nil, err
	}
	op, err := p.get(ctx)
	if err != nil {
		s.log.Error("OIDC provider unavailable", "provider", p.cfg.Name, "error", err)
		return nil, nil, httpx.NewError(http.StatusBadGateway, fmt.Sprintf("identity provider %q is unavailable", p.cfg.Name), "Try again later or ask the rise operator to check the server log.")
	}
	return p, op, nil
}

// allowedCLIRedirect reports whether uri is one of the loopback callback
// addresses the CLI may listen on.
func allowedCLIRedirect(uri string) bool {
	for _, host := range []string{"localhost", "127.0.0.1"} {
		for port := 8765; port <= 8767; port++ {
			if uri == fmt.Sprintf("http://%s:%d/callback", host, port) {
				return true
			}
		}
	}
	return false
}

// validChallenge: a base64url SHA-256 is exactly 43 characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for _, r := range c {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// handleAuthorize is POST /api/v1/auth/authorize.
func (s *Service) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	var req api.AuthorizeRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	switch {
	case !allowedCLIRedirect(req.RedirectURI):
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "redirect_uri must be http://localhost:8765/callback (ports 8765-8767, or 127.0.0.1)"))
		return
	case req.CodeChallengeMethod != api.PKCEMethodS256:
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "code_challenge_method must be S256"))
		return
	case !validChallenge(req.CodeChallenge):
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "code_challenge must be the 43-character base64url SHA-256 of the code verifier"))
		return
	}
	p, op, err := s.discover(r.Context(), req.Provider)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	pr := pendingLogin{
		State: randomString(32), Kind: kindCLI, Provider: p.cfg.Name, Nonce: randomString(32),
		CodeChallenge: req.CodeChallenge, RedirectURI: req.RedirectURI, ExpiresAt: s.now().Add(loginTTL),
	}
	if err := s.savePending(r.Context(), s.clientIP(r), &pr); err != nil {
		httpx.Err(w, r, err)
		return
	}
	u := p.oauth2Config(op, req.RedirectURI).AuthCodeURL(pr.State, oidc.Nonce(pr.Nonce),
		oauth2.SetAuthURLParam("code_challenge", req.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", api.PKCEMethodS256))
	httpx.JSON(w, http.StatusOK, api.AuthorizeResponse{AuthorizationURL: u, State: pr.State, ExpiresAt: pr.ExpiresAt})
}

// handleExchange is POST /api/v1/auth/code/exchange.
func (s *Service) handleExchange(w http.ResponseWriter, r *http.Request) {
	var req api.CodeExchangeRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if req.Code == "" || req.CodeVerifier == "" || !allowedCLIRedirect(req.RedirectURI) {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "code, code_verifier and a valid redirect_uri are required"))
		return
	}
	if n := len(req.CodeVerifier); n < 43 || n > 128 {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "code_verifier must be 43 to 128 characters (RFC 7636)"))
		return
	}
	challenge := s256(req.CodeVerifier)
	pr, err := s.takePending(r.Context(), kindCLI, req.State, challenge)
	if err != nil {
		s.refuseLogin(w, r, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(pr.CodeChallenge), []byte(challenge)) != 1 {
		s.refuseLogin(w, r, fmt.Errorf("%w: PKCE code_verifier does not match the challenge", ErrInvalidCredentials))
		return
	}
	if pr.RedirectURI != req.RedirectURI {
		s.refuseLogin(w, r, fmt.Errorf("%w: redirect_uri differs from the one authorized", ErrInvalidCredentials))
		return
	}
	resp, err := s.exchange(r, pr, req.Code, oauth2.VerifierOption(req.CodeVerifier))
	if err != nil {
		s.refuseLogin(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, resp)
}

// exchange redeems code at pr's IdP, verifies the ID token (signature,
// issuer, audience, expiry, nonce) and logs the user in.
func (s *Service) exchange(r *http.Request, pr *pendingLogin, code string, opts ...oauth2.AuthCodeOption) (*api.TokenResponse, error) {
	p, op, err := s.discover(r.Context(), pr.Provider)
	if err != nil {
		return nil, err
	}
	ctx := oidc.ClientContext(r.Context(), p.client)
	tok, err := p.oauth2Config(op, pr.RedirectURI).Exchange(ctx, code, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: identity provider refused the code: %v", ErrInvalidCredentials, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: identity provider returned no id_token", ErrInvalidCredentials)
	}
	method := "oidc"
	if pr.Kind == kindBrowser {
		method = "browser"
	}
	return s.loginWithIDToken(r, method, p, op, raw, pr.Nonce)
}

// loginWithIDToken verifies an ID token and logs its user in. nonce is
// checked when non-empty (the device grant has none).
func (s *Service) loginWithIDToken(r *http.Request, method string, p *provider, op *oidc.Provider, raw, nonce string) (*api.TokenResponse, error) {
	v := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: s.now})
	idt, err := v.Verify(oidc.ClientContext(r.Context(), p.client), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: id_token: %v", ErrInvalidCredentials, err)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: id_token nonce mismatch", ErrInvalidCredentials)
	}
	var c struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
		Name          string `json:"name"`
		Username      string `json:"preferred_username"`
	}
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: id_token claims: %v", ErrInvalidCredentials, err)
	}
	// A missing email_verified is unverified, unless the operator trusts
	// this provider's emails (trust_email = true).
	verified := c.EmailVerified != nil && *c.EmailVerified || c.EmailVerified == nil && p.cfg.TrustEmail
	if c.Email == "" || !verified {
		return nil, fmt.Errorf("%w: id_token has no verified email (email %q, email_verified %v; request the 'email' scope, or set trust_email for a provider that omits email_verified)",
			ErrInvalidCredentials, c.Email, c.EmailVerified)
	}
	handle := c.Username
	if handle == "" {
		handle = c.Name
	}
	groups, err := p.groups(idt)
	if err != nil {
		return nil, err
	}
	if err := s.checkAllowedGroups(r, p, c.Email, groups); err != nil {
		return nil, err
	}
	u, err := s.oidcUser(r.Context(), p.cfg.Issuer, idt.Subject, c.Email, handle, p.isAdmin(c.Email))
	if err != nil {
		return nil, err
	}
	if err := s.applyGroups(r, p, u, groups); err != nil {
		return nil, err
	}
	return s.issueFor(r, method, u)
}

// refuseLogin answers a failed login step: 401 with a generic message and
// a log line with the reason; non-credential errors go through httpx.Err.
func (s *Service) refuseLogin(w http.ResponseWriter, r *http.Request, err error) {
	if denied := (*platformDenied)(nil); errors.As(err, &denied) { // recorded by checkAllowedGroups
		httpx.Err(w, r, httpx.NewError(http.StatusForbidden, denied.Error()))
		return
	}
	if !errors.Is(err, ErrInvalidCredentials) {
		httpx.Err(w, r, err)
		return
	}
	s.log.Warn("refused login", "path", r.URL.Path, "remote", s.clientIP(r), "request_id", httpx.RequestID(r), "reason", err)
	s.auditLoginFailed(r, http.StatusUnauthorized, "")
	httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized, "login failed: the authorization is invalid, expired or already used", "Run 'rise login' again."))
}
