package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// DefaultTokenTTL is the lifetime of rise tokens when auth.token_ttl is unset.
const DefaultTokenTTL = 12 * time.Hour

// ErrInvalidCredentials wraps every reason a presented credential is refused.
// The wrapped detail is for logs only; callers show a generic message.
var ErrInvalidCredentials = errors.New("invalid credentials")

// Options are the server-side settings auth needs beyond the auth block.
type Options struct {
	// PublicURL is the server's external base URL (e.g. https://rise.example.com):
	// the rise token issuer and the base of the browser callback URL.
	PublicURL string
	// DataDir keeps the generated signing key when none is configured.
	DataDir string
	// Listen is the server's listen address; local auth on a non-loopback
	// address logs a warning.
	Listen string
	// AppsDomain is the domain apps are served under (config Server.Domain,
	// optionally with a port): browser logins may only return to hosts
	// under it or to PublicURL.
	AppsDomain string
	// CustomDomains reports whether a host is a verified custom domain of
	// a project (edge.Table.IsDomain): browser logins may return there too,
	// through a ticket like app hosts. Nil: none.
	CustomDomains func(host string) bool
	Log           hclog.Logger
	// HTTPClient talks to OIDC providers (not to trusted issuers, which get an
	// SSRF-guarded client). Default: a client with a 30s timeout.
	HTTPClient *http.Client
	// AppScheme is the scheme apps are served with ("https" default, or
	// "http"): browser logins only return to app URLs with this scheme.
	AppScheme string
	// TrustedProxies are the addresses (CIDRs or IPs) of reverse proxies
	// whose X-Forwarded-For is believed for the client address (rate
	// limits, logs). Empty: the TCP peer is the client.
	TrustedProxies []string
	// Now is the clock (tests). Default time.Now.
	Now func() time.Time
	// Audit records auth events (logins, failed logins, refused tokens);
	// nil records none.
	Audit *audit.Recorder
}

// Service authenticates requests and serves the auth routes. It implements
// the server's Authenticator interface.
type Service struct {
	cfg        *config.Auth
	users      userStore
	db         dbtx
	log        hclog.Logger
	issuer     string
	appsDomain string
	appScheme  string
	appsPort   string // the port in AppsDomain, if any
	customs    func(host string) bool
	proxies    []netip.Prefix
	key        *signingKey
	ttl        time.Duration
	now        func() time.Time
	httpClient *http.Client
	auditor    *audit.Recorder

	local          map[string]*config.LocalUser // by lower-case email
	limiter        *limiter                     // local login per ip+email
	accountLimiter *limiter                     // local login per email
	ipLimiter      *limiter                     // local login per ip
	providers      []*provider
	trusted        []*trustedIssuer
}

// newService builds a Service on any userStore; New wires the real store.
func newService(ctx context.Context, cfg *config.Auth, users userStore, db dbtx, opts Options) (*Service, error) {
	if cfg == nil {
		cfg = &config.Auth{}
	}
	s := &Service{
		cfg:        cfg,
		users:      users,
		db:         db,
		log:        opts.Log,
		now:        opts.Now,
		httpClient: opts.HTTPClient,
		auditor:    opts.Audit,
		local:      map[string]*config.LocalUser{},
		appsDomain: strings.TrimPrefix(strings.ToLower(opts.AppsDomain), "."),
		appScheme:  opts.AppScheme,
		customs:    opts.CustomDomains,
	}
	if h, port, err := net.SplitHostPort(s.appsDomain); err == nil {
		s.appsDomain, s.appsPort = h, port
	}
	if s.appScheme == "" {
		s.appScheme = "https"
	}
	if s.appScheme != "https" && s.appScheme != "http" {
		return nil, fmt.Errorf("auth: app scheme %q must be https or http", opts.AppScheme)
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	s.log = s.log.Named("auth")
	if s.now == nil {
		s.now = time.Now
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	pu, err := url.Parse(strings.TrimRight(opts.PublicURL, "/"))
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("auth: public_url %q must be an absolute http(s) URL", opts.PublicURL)
	}
	s.issuer = pu.String()
	if s.proxies, err = parseProxies(opts.TrustedProxies); err != nil {
		return nil, err
	}

	s.ttl = DefaultTokenTTL
	if cfg.TokenTTL != "" {
		if s.ttl, err = time.ParseDuration(cfg.TokenTTL); err != nil || s.ttl < time.Minute || s.ttl > 30*24*time.Hour {
			return nil, fmt.Errorf("auth: token_ttl %q must be a duration between 1m and 720h", cfg.TokenTTL)
		}
	}
	var generated bool
	if s.key, generated, err = loadSigningKey(cfg.SigningKeyFile, opts.DataDir); err != nil {
		return nil, err
	}
	if generated {
		s.log.Info("generated a new token signing key", "dir", opts.DataDir, "kid", s.key.kid)
	}

	if err := s.initLocal(cfg.Local, opts.Listen); err != nil {
		return nil, err
	}
	for _, p := range cfg.OIDC {
		pr, err := newProvider(p, s.httpClient)
		if err != nil {
			return nil, err
		}
		s.providers = append(s.providers, pr)
		// Discovery now when the IdP is up, so a misconfiguration shows at
		// start; an IdP that is down is retried on first use.
		if _, err := pr.get(ctx); err != nil {
			s.log.Warn("OIDC provider not reachable yet; will retry on first login", "provider", p.Name, "error", err)
		}
	}
	for _, t := range cfg.TrustedIssuers {
		ti, err := newTrustedIssuer(t)
		if err != nil {
			return nil, err
		}
		s.trusted = append(s.trusted, ti)
	}
	return s, nil
}

// Middleware puts the caller's identity in the request context when the
// request carries a valid bearer token, passes anonymous requests through,
// and answers 401 to requests with a bad token.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		id, claims, err := s.authenticateToken(r, raw)
		if errors.Is(err, ErrInvalidCredentials) && publicAuthPath(r.URL.Path) {
			// A stale token must not stop someone from logging in again.
			s.log.Debug("ignoring invalid token on a login route", "path", r.URL.Path, "reason", err)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			s.deny(w, r, err)
			return
		}
		ctx := identity.With(r.Context(), id)
		if claims != nil {
			ctx = withClaims(ctx, claims)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Require answers 401 to anonymous callers; put it on protected routes
// (inside Middleware).
func (s *Service) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if identity.From(r.Context()) == nil {
			httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized, "authentication required", "Run 'rise login' first."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// IdentityFromRequest authenticates r by its bearer token or, failing that,
// its rise_session cookie (browser sessions for private apps). It returns
// (nil, nil) for an anonymous request, an error wrapping
// ErrInvalidCredentials for refused credentials, and other errors for
// internal failures (e.g. the database).
func (s *Service) IdentityFromRequest(r *http.Request) (*identity.Identity, error) {
	if raw, ok := bearer(r); ok {
		id, _, err := s.authenticateToken(r, raw)
		return id, err
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	claims, err := s.verifyRiseToken(c.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: session cookie: %v", ErrInvalidCredentials, err)
	}
	return s.userIdentity(r.Context(), claims, "")
}

// authenticateToken verifies a bearer token: a rise token, or a trusted
// issuer's JWT matching a service account.
// The claims are returned for rise tokens (nil for service accounts).
func (s *Service) authenticateToken(r *http.Request, raw string) (*identity.Identity, *tokenClaims, error) {
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidCredentials, err)
	}
	if iss == s.issuer {
		claims, err := s.verifyRiseToken(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: rise token: %v", ErrInvalidCredentials, err)
		}
		id, err := s.userIdentity(r.Context(), claims, "")
		return id, claims, err
	}
	for _, t := range s.trusted {
		if t.cfg.Issuer == iss {
			id, err := s.serviceAccountIdentity(r, t, raw)
			return id, nil, err
		}
	}
	return nil, nil, fmt.Errorf("%w: token issuer %q is not trusted", ErrInvalidCredentials, iss)
}

// userIdentity is the identity behind a verified rise token, app session
// or ticket, read from the database on every request (so a demoted admin
// is no admin on the next request) and refused when the token, or the
// browser session sid it came from, has been revoked.
func (s *Service) userIdentity(ctx context.Context, c *tokenClaims, sid string) (*identity.Identity, error) {
	jtis := []string{c.ID}
	if sid != "" {
		jtis = append(jtis, sid)
	}
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time()
	}
	u, revoked, err := s.userAndRevocation(ctx, c.Subject, iat, jtis)
	if errors.Is(err, errNoUser) {
		return nil, fmt.Errorf("%w: token subject %q no longer exists", ErrInvalidCredentials, c.Subject)
	}
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, fmt.Errorf("%w: token %s of user %s was revoked", ErrInvalidCredentials, c.ID, u.Name)
	}
	return u.identity(), nil
}

// deny answers a refused credential: 401 with a generic message (no hint of
// why) and a log line with the reason.
func (s *Service) deny(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, ErrInvalidCredentials) {
		httpx.Err(w, r, err)
		return
	}
	s.log.Warn("refused credentials", "method", r.Method, "path", r.URL.Path,
		"remote", s.clientIP(r), "request_id", httpx.RequestID(r), "reason", err)
	s.audit(r, audit.Event{Action: audit.ActionTokenRejected, Status: http.StatusUnauthorized})
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized, errInvalidToken.Error(), "Run 'rise login' to get a new token."))
}

// publicAuthPath reports whether p is an anonymous login or discovery route.
func publicAuthPath(p string) bool {
	for _, prefix := range []string{"/api/v1/auth/", "/auth/", "/.well-known/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// Routes mounts the auth API on the /api/v1 subrouter.
func (s *Service) Routes(r *mux.Router) {
	r.HandleFunc("/auth/config", s.handleConfig).Methods(http.MethodGet)
	r.HandleFunc("/auth/login", s.handleLocalLogin).Methods(http.MethodPost)
	r.HandleFunc("/auth/authorize", s.handleAuthorize).Methods(http.MethodPost)
	r.HandleFunc("/auth/code/exchange", s.handleExchange).Methods(http.MethodPost)
	r.HandleFunc("/auth/device/start", s.handleDeviceStart).Methods(http.MethodPost)
	r.HandleFunc("/auth/device/poll", s.handleDevicePoll).Methods(http.MethodPost)
	r.Handle("/auth/logout", s.Require(http.HandlerFunc(s.handleAPILogout))).Methods(http.MethodPost)
	r.Handle("/users/{user}/tokens", s.Require(http.HandlerFunc(s.handleRevokeUser))).Methods(http.MethodDelete)
	sa := r.PathPrefix("/projects/{name}/service-accounts").Subrouter()
	sa.Use(s.Require)
	sa.HandleFunc("", s.handleCreateSA).Methods(http.MethodPost)
	sa.HandleFunc("", s.handleListSA).Methods(http.MethodGet)
	sa.HandleFunc("/{id}", s.handleDeleteSA).Methods(http.MethodDelete)
}

// WellKnown mounts OIDC discovery and the JWKS on the root router.
func (s *Service) WellKnown(root *mux.Router) {
	root.HandleFunc("/.well-known/openid-configuration", s.handleDiscovery).Methods(http.MethodGet)
	root.HandleFunc("/.well-known/jwks.json", s.handleJWKS).Methods(http.MethodGet)
}

// Issuer is the rise token issuer (the public URL without trailing slash).
func (s *Service) Issuer() string { return s.issuer }

// RootRoutes mounts everything auth serves outside /api/v1 (WellKnown and
// SessionRoutes); pass it to the server as a root mount.
func (s *Service) RootRoutes(root *mux.Router) {
	s.WellKnown(root)
	s.SessionRoutes(root)
}

// LoginURL is where the edge sends a browser without a valid session for a
// private app: the browser login that returns to rd.
func (s *Service) LoginURL(rd string) string {
	return s.issuer + "/auth/login?rd=" + url.QueryEscape(rd)
}
