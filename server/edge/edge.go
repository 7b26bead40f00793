// Package edge routes app traffic: requests for Host <project>.<domain> are
// reverse-proxied to the project's active deployment (the runtime's
// upstreams, e.g. a container's loopback port). Private projects need a
// logged-in user who may access the project: browsers without a session
// are redirected to rise's login page, other clients get 401, and users
// without access get the same 404 as for a missing project.
package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

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
	// StripCookies are cookie names (rise's session) never forwarded to apps.
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
	if route.Private && !h.authorize(w, r, project) {
		return
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
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, project string) bool {
	var id *identity.Identity
	var err error
	if h.o.Identity != nil {
		id, err = h.o.Identity(r)
	}
	if err != nil || id == nil {
		if err != nil {
			h.o.Log.Debug("edge: invalid credentials", "project", project, "error", err)
		}
		if isBrowser(r) && h.o.PublicURL != "" {
			http.Redirect(w, r, h.loginURL(r), http.StatusFound)
			return false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="rise"`)
		h.page(w, http.StatusUnauthorized, fmt.Sprintf("Project '%s' is private: log in to rise first.", project))
		return false
	}
	if h.o.CanAccess == nil {
		h.notFound(w, project)
		return false
	}
	ok, err := h.o.CanAccess(r.Context(), id, project)
	if err != nil {
		h.o.Log.Error("edge: access check failed", "project", project, "error", err)
		h.page(w, http.StatusBadGateway, "rise cannot route this request right now.")
		return false
	}
	if !ok {
		h.notFound(w, project)
		return false
	}
	return true
}

func (h *Handler) loginURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	rd := scheme + "://" + r.Host + r.URL.RequestURI()
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
	if len(h.o.StripCookies) == 0 || r.Header.Get("Cookie") == "" {
		return
	}
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		strip := false
		for _, n := range h.o.StripCookies {
			if c.Name == n {
				strip = true
				break
			}
		}
		if !strip {
			r.AddCookie(c)
		}
	}
}
