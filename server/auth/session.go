package auth

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/mux"
	"golang.org/x/oauth2"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/httpx"
)

// SessionCookie is the browser session cookie on rise's own host: an
// HttpOnly rise token. It is always host-only, so it never reaches an app
// host (nor an ingress that forwards cookies to apps); apps get their own
// app-scoped session through a login ticket (see apptickets.go).
const SessionCookie = "rise_session"

// Cookies of the browser login itself, both host-only and short-lived.
const (
	// stateCookie binds a browser OIDC login to the browser that started
	// it (login CSRF): the callback's state must equal it.
	stateCookie = "rise_login_state"
	// csrfCookie is the double-submit token of the local login form.
	csrfCookie = "rise_login_csrf"
)

// SessionRoutes mounts the browser login for private apps on the root
// router (outside /api/v1):
//
//	GET  /auth/login?rd=<url>   log in via the OIDC provider (or a local form), then go to rd;
//	                            a browser that already has a session goes on at once
//	POST /auth/login            the local email/password form
//	GET  /auth/callback         the OIDC provider's redirect target
//	GET  /auth/logout?rd=<url>  clear the session cookie
//
// rd must point at the public URL or at a host under the apps domain. When
// rd is an app host the session cookie does not reach, the browser goes to
// <app origin>/.rise/callback?ticket=...&rd=<path> instead (the edge).
func (s *Service) SessionRoutes(root *mux.Router) {
	root.HandleFunc("/auth/login", s.handleBrowserLogin).Methods(http.MethodGet)
	root.HandleFunc("/auth/login", s.handleBrowserLocal).Methods(http.MethodPost)
	root.HandleFunc("/auth/callback", s.handleBrowserCallback).Methods(http.MethodGet)
	root.HandleFunc("/auth/logout", s.handleLogout).Methods(http.MethodGet, http.MethodPost)
}

// safeReturn validates rd against open redirects; "" means the public URL.
// rd must be an absolute URL on rise's own origin, or on a host under the
// apps domain with https (or the configured app scheme, or the public URL's
// scheme) and no port other than the scheme's default, the public URL's or
// the apps domain's.
func (s *Service) safeReturn(rd string) (string, bool) {
	if rd == "" {
		return s.issuer + "/", true
	}
	u, err := url.Parse(rd)
	if err != nil || u.User != nil || u.Opaque != "" || strings.ContainsAny(rd, "\\\r\n\t\x00") {
		return "", false
	}
	pub, _ := url.Parse(s.issuer)
	if u.Scheme == pub.Scheme && strings.EqualFold(u.Host, pub.Host) {
		return u.String(), true
	}
	if u.Scheme != "https" && u.Scheme != s.appScheme && u.Scheme != pub.Scheme {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if !s.isCustomDomain(host) && (s.appsDomain == "" || !(host == s.appsDomain || strings.HasSuffix(host, "."+s.appsDomain))) {
		return "", false
	}
	switch port := u.Port(); {
	case port == "" && !strings.HasSuffix(u.Host, ":"):
	case port != "" && (port == pub.Port() || port == s.appsPort):
	default:
		return "", false
	}
	return u.String(), true
}

func (s *Service) callbackURL() string { return s.issuer + "/auth/callback" }

// handleBrowserLogin is GET /auth/login?rd=<url>.
func (s *Service) handleBrowserLogin(w http.ResponseWriter, r *http.Request) {
	rd, ok := s.safeReturn(r.URL.Query().Get("rd"))
	if !ok {
		s.log.Warn("refused browser login redirect target", "rd", r.URL.Query().Get("rd"), "remote", s.clientIP(r))
		http.Error(w, "invalid return address", http.StatusBadRequest)
		return
	}
	if s.resumeSession(w, r, rd) {
		return
	}
	if len(s.providers) == 0 {
		if len(s.local) == 0 {
			http.Error(w, "no login method is configured on this server", http.StatusNotFound)
			return
		}
		s.renderLoginForm(w, rd, "", http.StatusOK)
		return
	}
	p, err := s.pickProvider(r.URL.Query().Get("provider"))
	if err != nil {
		http.Error(w, "unknown identity provider", http.StatusBadRequest)
		return
	}
	op, err := p.get(r.Context())
	if err != nil {
		s.log.Error("OIDC provider unavailable", "provider", p.cfg.Name, "error", err)
		http.Error(w, "the identity provider is unavailable; try again later", http.StatusBadGateway)
		return
	}
	verifier := oauth2.GenerateVerifier()
	pr := pendingLogin{
		State: randomString(32), Kind: kindBrowser, Provider: p.cfg.Name, Nonce: randomString(32),
		CodeVerifier: verifier, RedirectURI: s.callbackURL(), ReturnTo: rd, ExpiresAt: s.now().Add(loginTTL),
	}
	if err := s.savePending(r.Context(), s.clientIP(r), &pr); err != nil {
		if he := (*httpx.Error)(nil); errors.As(err, &he) {
			http.Error(w, he.Message, he.Status)
			return
		}
		s.log.Error("browser login", "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, s.loginCookie(stateCookie, "/auth/callback", pr.State, int(loginTTL.Seconds())))
	u := p.oauth2Config(op, pr.RedirectURI).AuthCodeURL(pr.State, oidc.Nonce(pr.Nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, u, http.StatusFound)
}

// handleBrowserCallback is GET /auth/callback?code=...&state=...
func (s *Service) handleBrowserCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Login CSRF: only the browser that started this login (it holds the
	// state in a host-only cookie) may finish it; a callback URL with
	// someone else's code is refused before anything is consumed.
	c, cerr := r.Cookie(stateCookie)
	if cerr != nil || q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(q.Get("state"))) != 1 {
		s.log.Warn("refused browser login", "remote", s.clientIP(r), "reason", "state does not match this browser's login cookie")
		s.auditLoginFailed(r, http.StatusBadRequest, "")
		http.Error(w, "login failed: this login was not started in this browser; start again from the app", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, s.loginCookie(stateCookie, "/auth/callback", "", -1))
	if e := q.Get("error"); e != "" {
		_, _ = s.takePending(r.Context(), kindBrowser, q.Get("state"), "")
		s.log.Warn("identity provider returned an error to the browser login", "error", e, "remote", s.clientIP(r))
		s.auditLoginFailed(r, http.StatusUnauthorized, "")
		http.Error(w, "login failed at the identity provider", http.StatusUnauthorized)
		return
	}
	pr, err := s.takePending(r.Context(), kindBrowser, q.Get("state"), "")
	var resp *api.TokenResponse
	if err == nil {
		resp, err = s.exchange(r, pr, q.Get("code"), oauth2.VerifierOption(pr.CodeVerifier))
	}
	if denied := (*platformDenied)(nil); errors.As(err, &denied) {
		http.Error(w, denied.Error(), http.StatusForbidden) // recorded by loginWithIDToken
		return
	}
	if err != nil {
		s.log.Warn("refused browser login", "remote", s.clientIP(r), "reason", err)
		s.auditLoginFailed(r, http.StatusUnauthorized, "")
		http.Error(w, "login failed: the authorization is invalid, expired or already used", http.StatusUnauthorized)
		return
	}
	s.finishBrowserLogin(w, r, resp, pr.ReturnTo)
}

// handleBrowserLocal is POST /auth/login (form: email, password, rd).
func (s *Service) handleBrowserLocal(w http.ResponseWriter, r *http.Request) {
	if len(s.local) == 0 {
		http.Error(w, "local login is not enabled", http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	rd, ok := s.safeReturn(r.PostForm.Get("rd"))
	if !ok {
		http.Error(w, "invalid return address", http.StatusBadRequest)
		return
	}
	// CSRF: the form's token must equal the cookie set with the form, which
	// another site can neither read nor set (host-only, SameSite=Strict).
	c, cerr := r.Cookie(csrfCookie)
	if cerr != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		s.log.Warn("refused local login form without a valid CSRF token", "remote", s.clientIP(r))
		s.renderLoginForm(w, rd, "The login form expired; please try again.", http.StatusForbidden)
		return
	}
	lu, err := s.checkLocal(r, r.PostForm.Get("email"), r.PostForm.Get("password"))
	if err != nil {
		s.renderLoginForm(w, rd, err.Error(), http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, s.loginCookie(csrfCookie, "/auth/login", "", -1))
	resp, err := s.login(r, "browser", lu)
	if err != nil {
		s.log.Error("browser login", "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	s.finishBrowserLogin(w, r, resp, rd)
}

// handleLogout revokes the browser session (and with it the app sessions
// made from it) and clears the cookie.
func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) {
	rd, ok := s.safeReturn(r.URL.Query().Get("rd"))
	if !ok {
		rd = s.issuer + "/"
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if claims, err := s.verifyRiseToken(c.Value); err == nil {
			if err := s.revokeToken(r.Context(), claims.ID, claims.Subject, claims.Expiry.Time()); err != nil {
				s.log.Error("browser logout", "error", err)
				http.Error(w, "internal server error", http.StatusInternalServerError)
				return
			}
			s.audit(r, audit.Event{Action: audit.ActionTokenRevoked, Actor: "user:" + claims.Name, Status: http.StatusOK, Details: map[string]any{"user": claims.Name, "method": "browser"}})
		}
	}
	c := s.sessionCookie("")
	c.MaxAge = -1
	http.SetCookie(w, c)
	http.Redirect(w, r, rd, http.StatusSeeOther)
}

func (s *Service) sessionCookie(value string) *http.Cookie {
	c := &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", HttpOnly: true,
		Secure: strings.HasPrefix(s.issuer, "https://"), SameSite: http.SameSiteLaxMode,
	}
	return c
}

// loginCookie is a host-only cookie of the login flow itself on path.
func (s *Service) loginCookie(name, path, value string, maxAge int) *http.Cookie {
	same := http.SameSiteLaxMode // the IdP's redirect back is a cross-site top-level GET
	if name == csrfCookie {
		same = http.SameSiteStrictMode
	}
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: strings.HasPrefix(s.issuer, "https://"), SameSite: same}
}

// finishBrowserLogin sets the session cookie and sends the browser on to
// rd (through a ticket when rd is an app host the cookie does not reach).
func (s *Service) finishBrowserLogin(w http.ResponseWriter, r *http.Request, t *api.TokenResponse, rd string) {
	s.setSession(w, t)
	claims, err := s.verifyRiseToken(t.Token)
	if err != nil {
		s.log.Error("browser login: own token", "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	target, err := s.appTarget(rd, t.User.ID, t.ExpiresAt, claims.ID)
	if err != nil {
		s.log.Error("browser login", "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// resumeSession sends a browser that already has a valid session on to rd
// without logging in again (another private app, an expired app cookie).
// It returns false when the browser must log in.
func (s *Service) resumeSession(w http.ResponseWriter, r *http.Request, rd string) bool {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return false
	}
	claims, err := s.verifyRiseToken(c.Value)
	if err != nil {
		s.log.Debug("ignoring an invalid session cookie at login", "reason", err)
		return false
	}
	if _, err := s.userIdentity(r.Context(), claims, ""); err != nil {
		s.log.Debug("ignoring a session cookie at login", "reason", err)
		return false
	}
	target, err := s.appTarget(rd, claims.Subject, claims.Expiry.Time(), claims.ID)
	if err != nil {
		s.log.Error("browser login", "error", err)
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
	return true
}

func (s *Service) setSession(w http.ResponseWriter, t *api.TokenResponse) {
	c := s.sessionCookie(t.Token)
	c.Expires = t.ExpiresAt
	http.SetCookie(w, c)
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Log in to rise</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}.err{color:#b00}</style>
</head><body><h1>Log in to rise</h1>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<form method="post" action="/auth/login">
<input type="hidden" name="rd" value="{{.RD}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form></body></html>
`))

// renderLoginForm shows the local login form with a fresh CSRF token
// (also set as csrfCookie).
func (s *Service) renderLoginForm(w http.ResponseWriter, rd, msg string, status int) {
	csrf := randomString(32)
	http.SetCookie(w, s.loginCookie(csrfCookie, "/auth/login", csrf, int(loginTTL.Seconds())))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	_ = loginForm.Execute(w, struct{ RD, Error, CSRF string }{rd, msg, csrf})
}
