package edge

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/identity"
)

// SessionCookie is the edge's host-only session cookie on an app host. It
// holds an app session token bound to that host and never reaches the app.
const SessionCookie = "rise_app_session"

// risePrefix is the path prefix the edge keeps for itself on app hosts:
//
//	GET /.rise/callback?ticket=<ticket>&rd=<path>  redeem a login ticket, set SessionCookie, go to rd
//	GET /.rise/logout                              clear SessionCookie and log out of rise
const risePrefix = "/.rise/"

// Sessions carries browser sessions from rise's host to app hosts;
// server/auth.Service implements it. Refused tickets and tokens are errors
// wrapping auth.ErrInvalidCredentials; any other error is internal.
type Sessions interface {
	// RedeemTicket exchanges a single-use login ticket presented on host
	// (a Host header) for an app session token and its expiry.
	RedeemTicket(ctx context.Context, ticket, host string) (token string, expires time.Time, err error)
	// AppSessionIdentity authenticates an app session token presented on host.
	AppSessionIdentity(ctx context.Context, token, host string) (*identity.Identity, error)
}

// Where a caller's credential came from.
const (
	srcNone      = iota
	srcAppCookie // SessionCookie
	srcBearer    // Authorization
	srcCookie    // IdentityCookie
)

// caller returns who sends r to app host host: the app session cookie
// first, then Identity (bearer token, rise's session cookie), and where
// the credential came from. Refused credentials make the caller anonymous;
// stale reports a refused app session cookie (to be cleared). err is an
// internal failure. Verified credentials are cached (idCache).
func (h *Handler) caller(r *http.Request, host string) (id *identity.Identity, src int, stale bool, err error) {
	if h.o.Sessions != nil {
		if c, cerr := r.Cookie(SessionCookie); cerr == nil && c.Value != "" {
			id, err := h.ids.get("a "+host+" "+c.Value, c.Value, func() (*identity.Identity, error) {
				return h.o.Sessions.AppSessionIdentity(r.Context(), c.Value, host)
			})
			switch {
			case err == nil && id != nil:
				return id, srcAppCookie, false, nil
			case errors.Is(err, auth.ErrInvalidCredentials):
				h.o.Log.Debug("edge: refused app session", "host", host, "reason", err)
				stale = true
			case err != nil:
				return nil, srcNone, false, err
			}
		}
	}
	if id := identity.From(r.Context()); id != nil {
		return id, srcNone, stale, nil
	}
	if h.o.Identity == nil {
		return nil, srcNone, stale, nil
	}
	key, token, src := "", "", srcNone
	if a := r.Header.Get("Authorization"); a != "" {
		key, token, src = "b "+a, strings.TrimSpace(a[min(len(a), 7):]), srcBearer
	} else if h.o.IdentityCookie != "" {
		if c, cerr := r.Cookie(h.o.IdentityCookie); cerr == nil && c.Value != "" {
			key, token, src = "c "+c.Value, c.Value, srcCookie
		}
	}
	if key == "" {
		return nil, srcNone, stale, nil
	}
	id, err = h.ids.get(key, token, func() (*identity.Identity, error) { return h.o.Identity(r) })
	if errors.Is(err, auth.ErrInvalidCredentials) {
		h.o.Log.Debug("edge: refused credentials", "host", host, "reason", err)
		return nil, srcNone, stale, nil
	}
	if err != nil || id == nil {
		return nil, srcNone, stale, err
	}
	return id, src, stale, nil
}

// serveRise answers the edge's own paths on app hosts.
func (h *Handler) serveRise(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case r.URL.Path == risePrefix+"callback" && r.Method == http.MethodGet: // not HEAD: link previews must not spend tickets
		h.callback(w, r)
	case r.URL.Path == risePrefix+"logout" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		h.logout(w, r)
	default:
		h.page(w, http.StatusNotFound, "Not found.")
	}
}

// callback redeems a login ticket and sets the app host's session cookie.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rd := safePath(q.Get("rd"))
	if h.o.Sessions == nil {
		h.page(w, http.StatusNotFound, "Browser sessions are not enabled on this server.")
		return
	}
	token, exp, err := h.o.Sessions.RedeemTicket(r.Context(), q.Get("ticket"), r.Host)
	if errors.Is(err, auth.ErrInvalidCredentials) {
		h.o.Log.Warn("edge: refused login ticket", "host", r.Host, "remote", r.RemoteAddr, "reason", err)
		h.page(w, http.StatusUnauthorized, "This login link is invalid, expired or already used. Open "+
			scheme(r)+"://"+r.Host+rd+" to log in again.")
		return
	}
	if err != nil {
		h.o.Log.Error("edge: redeem login ticket", "host", r.Host, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot log you in right now; try again later.")
		return
	}
	c := h.sessionCookie(r, token, 0)
	c.Expires = exp
	http.SetCookie(w, c)
	http.Redirect(w, r, rd, http.StatusFound)
}

// logout clears the app host's session and then rise's own (which would
// otherwise log the browser straight back in).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, h.sessionCookie(r, "", -1))
	target := safePath(r.URL.Query().Get("rd"))
	if h.o.PublicURL != "" {
		target = strings.TrimRight(h.o.PublicURL, "/") + "/auth/logout?rd=" + url.QueryEscape(scheme(r)+"://"+r.Host+"/")
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// sessionCookie is SessionCookie for r's host: host-only, HttpOnly,
// SameSite=Lax, Secure on https.
func (h *Handler) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: scheme(r) == "https", SameSite: http.SameSiteLaxMode,
	}
}

// scheme is the scheme the client used (TLS here, or a proxy's
// X-Forwarded-Proto).
func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		return p
	}
	return "http"
}

// safePath returns rd when it is a local path on this host, else "/": no
// scheme, no host, no protocol-relative "//" or "/\" (which browsers treat
// as "//"), no control characters.
func safePath(rd string) string {
	if rd == "" || rd[0] != '/' || strings.HasPrefix(rd, "//") || strings.ContainsAny(rd, "\\\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(rd)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return rd
}
