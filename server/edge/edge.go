// Package edge routes app traffic: requests for an app host are
// reverse-proxied to the active deployment of the target the host names
// (sdk/apphost: <project>.<domain> for production's default group,
// <project>--<environment>.<domain> and <project>--<group label>.<domain>
// for the others), to the runtime's upstreams (e.g. a container's loopback
// port). Private projects need a
// logged-in user who may access the project: browsers without a session
// are redirected to rise's login page, other clients get 401, and users
// without access get the same 404 as for a missing project.
//
// After login rise sends the browser back through /.rise/callback on the
// app host with a single-use ticket, which the edge turns into a host-only
// session cookie (see session.go). The edge also answers ingress-nginx's
// auth subrequests (GET /api/v1/ingress/auth, see ingress.go).
package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/sdk/apphost"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/metrics"
)

// Route is where one app host's traffic goes.
type Route struct {
	Project string
	// Environment and Group name the target served ("" when the host names
	// no target of the project: nothing runs there).
	Environment, Group string
	Private            bool
	Deployment         string   // active deployment id; "" when nothing runs
	Upstreams          []string // base URLs, e.g. http://127.0.0.1:49153
}

// ErrUnknownProject is returned by a Lookup for a project that does not exist.
var ErrUnknownProject = errors.New("unknown project")

// Access log modes (Options.AccessLog).
const (
	AccessLogOff     = "off"
	AccessLogSampled = "sampled" // one request in AccessLogEvery, plus every 5xx
	AccessLogAll     = "all"
)

// Options configure the edge router.
type Options struct {
	// Domain: apps are served at <project>.<domain> (any port).
	Domain string
	// PublicURL is rise's own URL; browsers log in at <PublicURL>/auth/login?rd=<url>.
	// It is also the issuer of rise's tokens, which never reach apps.
	PublicURL string
	// Domains maps a verified custom domain (a Host outside Domain, any
	// port) to its project (Table.DomainProject); nil: no custom domains.
	Domains func(host string) (project string, ok bool)
	// Lookup returns the route of an app host label (sdk/apphost; for
	// production's default group the label is the project name), or
	// ErrUnknownProject when the label's project does not exist.
	// Table.Lookup serves it from memory.
	Lookup func(ctx context.Context, label string) (*Route, error)
	// Identity resolves the caller of a request from its Authorization
	// header or its IdentityCookie; nil identity and nil error mean
	// anonymous. Results are cached by credential (see IdentityTTL).
	Identity func(*http.Request) (*identity.Identity, error)
	// IdentityCookie is the cookie Identity reads besides Authorization
	// (rise's session cookie); it never reaches apps.
	IdentityCookie string
	// CanAccess reports whether id may use a project that needs a login;
	// false is answered like a missing project, an error wrapping
	// *DeniedError with 403 (Table.CanAccess, access.go).
	CanAccess func(ctx context.Context, id *identity.Identity, project string) (bool, error)
	// Sessions turns login tickets into app-host sessions and checks them
	// (server/auth.Service implements it). Nil: only Identity is consulted.
	Sessions Sessions
	// StripCookies are further cookie names never forwarded to apps; the
	// edge's own SessionCookie and IdentityCookie are always stripped.
	StripCookies []string
	// IdentityTTL is how long a verified credential is trusted before it is
	// checked again (default 30s). When the check fails for an internal
	// reason (database down), the last identity is used until the token
	// expires: the edge fails static.
	IdentityTTL time.Duration
	// AccessLog is AccessLogOff, AccessLogSampled (default) or AccessLogAll;
	// AccessLogEvery is the sampling period (default 100).
	AccessLog      string
	AccessLogEvery int
	// Transport reaches the upstreams (default NewTransport()).
	Transport http.RoundTripper
	// Metrics counts upstream errors (nil counts nothing); requests are
	// counted around the edge by the server (metrics.WithEdgeProject).
	Metrics *metrics.Metrics
	Log     hclog.Logger
}

// Handler is the edge router.
type Handler struct {
	o        Options
	suffix   string // "." + the domain's host, lower case
	own      string // rise's own host (from PublicURL), never an app
	issuer   string // rise's token issuer (PublicURL without trailing /)
	strip    []string
	bal      *balancer
	proxy    *httputil.ReverseProxy
	ids      *idCache
	logEvery uint64 // 0: no access log
	logN     atomic.Uint64
}

// New returns the edge router.
func New(o Options) (*Handler, error) {
	if o.Domain == "" {
		return nil, errors.New("edge: no domain")
	}
	if o.Lookup == nil {
		return nil, errors.New("edge: no route lookup")
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if o.Transport == nil {
		o.Transport = NewTransport()
	}
	if o.IdentityTTL <= 0 {
		o.IdentityTTL = 30 * time.Second
	}
	domain := strings.ToLower(strings.TrimPrefix(o.Domain, "."))
	if host, _, err := net.SplitHostPort(domain); err == nil {
		domain = host // "localhost:3000": apps on rise's own port
	}
	h := &Handler{o: o, suffix: "." + domain, issuer: strings.TrimRight(o.PublicURL, "/")}
	if u, err := url.Parse(o.PublicURL); err == nil {
		h.own = strings.ToLower(u.Hostname())
	}
	h.strip = append([]string{SessionCookie}, o.StripCookies...)
	if o.IdentityCookie != "" {
		h.strip = append(h.strip, o.IdentityCookie)
	}
	switch o.AccessLog {
	case AccessLogOff:
	case AccessLogAll:
		h.logEvery = 1
	case "", AccessLogSampled:
		h.logEvery = 100
		if o.AccessLogEvery > 0 {
			h.logEvery = uint64(o.AccessLogEvery)
		}
	default:
		return nil, fmt.Errorf("edge: access log %q is not off, sampled or all", o.AccessLog)
	}
	h.ids = newIDCache(o.IdentityTTL)
	h.bal = &balancer{base: o.Transport, onErr: func(addr string, err error) {
		o.Log.Warn("edge: upstream refused the connection; skipping it for a while", "upstream", addr, "for", downFor, "error", err)
	}}
	h.proxy = h.newProxy()
	return h, nil
}

// Project returns the project a Host header addresses, and whether it is an
// app host at all (<label>.<domain>, one label deep, any port, and not
// rise's own public host). The server sends exactly these hosts here.
func (h *Handler) Project(host string) (string, bool) {
	a, ok := h.Address(host)
	return a.Project, ok
}

// Address returns the app host label a Host header addresses, split into
// project and suffix (sdk/apphost), and whether it is an app host at all.
func (h *Handler) Address(host string) (apphost.Address, bool) {
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	l, ok := strings.CutSuffix(host, h.suffix)
	if !ok || l == "" || strings.Contains(l, ".") || host == h.own {
		if host == h.own {
			return apphost.Address{}, false
		}
		// A verified custom domain serves its project's production
		// default group.
		p, ok := h.customDomain(host)
		return apphost.Address{Project: p}, ok
	}
	return apphost.Parse(l)
}

// ServeHTTP routes one request, writing an access log line for the
// sampled ones.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.logEvery == 0 {
		h.serve(w, r)
		return
	}
	rec := httpx.NewRecorder(w)
	sampled := h.logN.Add(1)%h.logEvery == 0
	start := time.Now()
	h.serve(rec, r)
	status := rec.StatusOr(http.StatusOK)
	if !sampled && status < 500 {
		return
	}
	h.o.Log.Info("access", "host", r.Host, "method", r.Method, "path", r.URL.Path, "status", status,
		"bytes", rec.Bytes(), "duration", time.Since(start).Round(time.Microsecond), "remote", r.RemoteAddr)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	addr, ok := h.Address(r.Host)
	if !ok {
		h.page(w, http.StatusNotFound, "No app is served at "+r.Host+".")
		return
	}
	project := addr.Project
	if strings.HasPrefix(r.URL.Path, risePrefix) {
		h.serveRise(w, r)
		return
	}
	route, err := h.o.Lookup(r.Context(), addr.Label())
	if errors.Is(err, ErrUnknownProject) {
		h.notFound(w, project)
		return
	}
	if err != nil {
		h.o.Log.Error("edge: route lookup failed", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return
	}
	metrics.LabelEdgeProject(r, project)
	// Apps may trust X-Rise-* headers: the edge sets them, and never
	// passes on a client's own.
	for k := range r.Header {
		if strings.HasPrefix(k, "X-Rise-") {
			delete(r.Header, k)
		}
	}
	if route.Private {
		id, bearer, ok := h.authorize(w, r, project)
		if !ok {
			return
		}
		if bearer {
			r.Header.Del("Authorization") // consumed: the app never sees the caller's token
		}
		setUserHeaders(r.Header, id)
	}
	if h.riseToken(r.Header.Get("Authorization")) {
		r.Header.Del("Authorization")
	}
	if len(route.Upstreams) == 0 {
		msg := fmt.Sprintf("Project '%s' has no running deployment.", project)
		if addr.Suffix != "" {
			msg = fmt.Sprintf("Project '%s' has no running deployment at %s.", project, addr.Label())
		}
		h.page(w, http.StatusServiceUnavailable, msg)
		return
	}
	up, idx, err := h.bal.choose(route)
	if err != nil {
		h.o.Log.Error("edge: bad upstream", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return
	}
	h.stripCookies(r)
	ctx := context.WithValue(r.Context(), pickKey{}, &pick{route: route, first: up, start: idx})
	h.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// authorize checks a private project's caller; it answers the request
// itself and returns false when the caller may not proceed.
// bearer reports that the caller authenticated with the Authorization
// header.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, project string) (id *identity.Identity, bearer, ok bool) {
	id, src, stale, err := h.caller(r, r.Host)
	if err != nil {
		h.o.Log.Error("edge: authentication failed", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return nil, false, false
	}
	if stale {
		http.SetCookie(w, h.sessionCookie(r, "", -1))
	}
	if id == nil {
		if isBrowser(r) && h.o.PublicURL != "" {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, h.loginURL(r), http.StatusFound)
			return nil, false, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="rise"`)
		httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized,
			fmt.Sprintf("Project '%s' is private: log in to rise first.", project),
			"Open it in a browser to log in, or send 'Authorization: Bearer <rise token>' (the token from 'rise login').",
		))
		return nil, false, false
	}
	if h.o.CanAccess == nil {
		h.notFound(w, project)
		return nil, false, false
	}
	ok, err = h.o.CanAccess(r.Context(), id, project)
	if denied, is := isDenied(err); is {
		h.o.Log.Debug("edge: access class turns the caller away", "project", project, "class", denied.Class, "caller", id.Subject())
		h.page(w, http.StatusForbidden, denied.Error())
		return nil, false, false
	}
	if err != nil {
		h.o.Log.Error("edge: access check failed", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return nil, false, false
	}
	if !ok {
		h.o.Log.Debug("edge: no access to a private project", "project", project, "caller", id.Subject())
		h.notFound(w, project)
		return nil, false, false
	}
	return id, src == srcBearer, true
}

func (h *Handler) loginURL(r *http.Request) string {
	rd := scheme(r) + "://" + r.Host + r.URL.RequestURI()
	return strings.TrimRight(h.o.PublicURL, "/") + "/auth/login?rd=" + url.QueryEscape(rd)
}

// isBrowser: a top-level navigation that can follow a login redirect.
func isBrowser(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("Authorization") != "" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (h *Handler) notFound(w http.ResponseWriter, project string) {
	h.page(w, http.StatusNotFound, fmt.Sprintf("No project named '%s'.", project))
}

func (h *Handler) page(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func (h *Handler) stripCookies(r *http.Request) {
	if !slices.ContainsFunc(r.Header["Cookie"], func(line string) bool {
		return slices.ContainsFunc(h.strip, func(name string) bool { return strings.Contains(line, name) })
	}) {
		return // nothing of rise's: leave the header as the client sent it
	}
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if !slices.Contains(h.strip, c.Name) {
			r.AddCookie(c)
		}
	}
}
