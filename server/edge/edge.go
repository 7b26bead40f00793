// Package edge routes app traffic: requests for Host <project>.<domain> are
// reverse-proxied to the project's active deployment (the runtime's
// upstreams, e.g. a container's loopback port). Private projects need a
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
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// Route is where a project's traffic goes.
type Route struct {
	Project    string
	Private    bool
	Deployment string   // active deployment id; "" when nothing runs
	Upstreams  []string // base URLs, e.g. http://127.0.0.1:49153
}

// maxProxies bounds the cache of reverse proxies (one per upstream).
const maxProxies = 4096

// ErrUnknownProject is returned by a Lookup for a project that does not exist.
var ErrUnknownProject = errors.New("unknown project")

// Options configure the edge router.
type Options struct {
	// Domain: apps are served at <project>.<domain> (any port).
	Domain string
	// PublicURL is rise's own URL; browsers log in at <PublicURL>/auth/login?rd=<url>.
	PublicURL string
	// Lookup returns a project's route (ErrUnknownProject when missing).
	Lookup func(ctx context.Context, project string) (*Route, error)
	// Identity resolves the caller of a request (session cookie, bearer
	// token); nil identity and nil error mean anonymous.
	Identity func(*http.Request) (*identity.Identity, error)
	// CanAccess reports whether id may use private project.
	CanAccess func(ctx context.Context, id *identity.Identity, project string) (bool, error)
	// Sessions turns login tickets into app-host sessions and checks them
	// (server/auth.Service implements it). Nil: only Identity is consulted.
	Sessions Sessions
	// StripCookies are cookie names (rise's session) never forwarded to
	// apps; the edge's own SessionCookie is always stripped.
	StripCookies []string
	Log          hclog.Logger
}

// Handler is the edge router.
type Handler struct {
	o        Options
	suffix   string   // "." + the domain's host, lower case
	own      string   // rise's own host (from PublicURL), never an app
	proxies  sync.Map // upstream → *httputil.ReverseProxy
	nproxies atomic.Int64
	rr       atomic.Uint64
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
	domain := strings.ToLower(strings.TrimPrefix(o.Domain, "."))
	if host, _, err := net.SplitHostPort(domain); err == nil {
		domain = host // "localhost:3000": apps on rise's own port
	}
	h := &Handler{o: o, suffix: "." + domain}
	if u, err := url.Parse(o.PublicURL); err == nil {
		h.own = strings.ToLower(u.Hostname())
	}
	return h, nil
}

// Project returns the project a Host header addresses, and whether it is an
// app host at all (<project>.<domain>, one label deep, any port, and not
// rise's own public host). The server sends exactly these hosts here.
func (h *Handler) Project(host string) (string, bool) {
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	p, ok := strings.CutSuffix(host, h.suffix)
	if !ok || p == "" || strings.Contains(p, ".") || host == h.own {
		return "", false
	}
	return p, true
}

// ServeHTTP routes one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	project, ok := h.Project(r.Host)
	if !ok {
		h.page(w, http.StatusNotFound, "No app is served at "+r.Host+".")
		return
	}
	if strings.HasPrefix(r.URL.Path, risePrefix) {
		h.serveRise(w, r)
		return
	}
	route, err := h.o.Lookup(r.Context(), project)
	if errors.Is(err, ErrUnknownProject) {
		h.notFound(w, project)
		return
	}
	if err != nil {
		h.o.Log.Error("edge: route lookup failed", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return
	}
	// The app may trust X-Rise-User/X-Rise-Email on private projects: the
	// edge sets them, and never passes on a client's own.
	r.Header.Del("X-Rise-User")
	r.Header.Del("X-Rise-Email")
	if route.Private {
		id, ok := h.authorize(w, r, project)
		if !ok {
			return
		}
		setUserHeaders(r.Header, id)
	}
	if len(route.Upstreams) == 0 {
		h.page(w, http.StatusServiceUnavailable, fmt.Sprintf("Project '%s' has no running deployment.", project))
		return
	}
	up := route.Upstreams[int(h.rr.Add(1)%uint64(len(route.Upstreams)))]
	proxy, err := h.proxy(up)
	if err != nil {
		h.o.Log.Error("edge: bad upstream", "project", project, "upstream", up, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return
	}
	h.stripCookies(r)
	proxy.ServeHTTP(w, r)
}

// authorize checks a private project's caller; it answers the request
// itself and returns false when the caller may not proceed.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, project string) (*identity.Identity, bool) {
	id, stale, err := h.caller(r, r.Host)
	if err != nil {
		h.o.Log.Error("edge: authentication failed", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return nil, false
	}
	if stale {
		http.SetCookie(w, h.sessionCookie(r, "", -1))
	}
	if id == nil {
		if isBrowser(r) && h.o.PublicURL != "" {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, h.loginURL(r), http.StatusFound)
			return nil, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="rise"`)
		httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized,
			fmt.Sprintf("Project '%s' is private: log in to rise first.", project),
			"Open it in a browser to log in, or send 'Authorization: Bearer <rise token>' (the token from 'rise login').",
		))
		return nil, false
	}
	if h.o.CanAccess == nil {
		h.notFound(w, project)
		return nil, false
	}
	ok, err := h.o.CanAccess(r.Context(), id, project)
	if err != nil {
		h.o.Log.Error("edge: access check failed", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return nil, false
	}
	if !ok {
		h.o.Log.Debug("edge: no access to a private project", "project", project, "caller", id.Subject())
		h.notFound(w, project)
		return nil, false
	}
	return id, true
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

func (h *Handler) proxy(upstream string) (*httputil.ReverseProxy, error) {
	if p, ok := h.proxies.Load(upstream); ok {
		return p.(*httputil.ReverseProxy), nil
	}
	target, err := url.Parse(upstream)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("invalid upstream %q", upstream)
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host // the app sees the public host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.o.Log.Warn("edge: upstream error", "host", r.Host, "upstream", upstream, "error", err)
			h.page(w, http.StatusBadGateway, "The app is not answering.")
		},
	}
	actual, loaded := h.proxies.LoadOrStore(upstream, p)
	if !loaded && h.nproxies.Add(1) > maxProxies {
		// Upstreams change with every deployment: forget old ones now and
		// then instead of growing forever (live ones are recreated lazily).
		h.proxies.Clear()
		h.nproxies.Store(0)
	}
	return actual.(*httputil.ReverseProxy), nil
}

func (h *Handler) stripCookies(r *http.Request) {
	if r.Header.Get("Cookie") == "" {
		return
	}
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != SessionCookie && !slices.Contains(h.o.StripCookies, c.Name) {
			r.AddCookie(c)
		}
	}
}
