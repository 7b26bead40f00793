// Package server is the rise API server: an HTTP server (gorilla/mux) under
// /api/v1 plus the controllers that run in the same process.
//
// What other packages plug in — implement one of these and have the lead
// wire it in cmd/rise (see Deps):
//
//	// Authenticator authenticates callers (server/auth implements it).
//	// Middleware wraps every request: it puts an *identity.Identity in the
//	// context when the request carries valid credentials, passes anonymous
//	// requests through, and answers 401 itself to bad credentials. Handlers
//	// answer 401 to anonymous callers where they need an identity.
//	// Routes mounts its endpoints on the /api/v1 subrouter.
//	type Authenticator interface {
//		Middleware(http.Handler) http.Handler
//		Routes(api *mux.Router)
//	}
//
//	// Mount adds routes to a router: on /api/v1 (Deps.Mounts: deployments,
//	// registry credentials, ...) or on the root router (Deps.RootMounts:
//	// /.well-known/..., browser login pages). Wrap a plain function with
//	// MountFunc.
//	type Mount interface{ Routes(r *mux.Router) }
//
//	// Edge serves app traffic by Host (server/edge); see Deps.Edge.
//
//	// Controller is a background loop (deployments, project cleanup,
//	// registry lifecycle). Run blocks until ctx ends, which happens when the
//	// server stops. A Run that returns early with an error, or panics, is
//	// logged and restarted with backoff.
//	type Controller interface{ Run(ctx context.Context) error }
//
// The server itself serves GET /api/v1/health (liveness), GET /api/v1/ready
// (readiness: the database answers), GET /api/v1/version, the projects API
// (server/projects), the teams and users API (server/teams) and the audit
// log (server/audit: every state-changing /api/v1 call is recorded,
// GET /api/v1/audit lists them), and GET /metrics (server/metrics; on its own
// listener when metrics.listen is set, else on the main one to admins only).
// Every request gets a request id (X-Request-Id, kept from the caller when
// well-formed), a structured log line and panic recovery; errors use the one
// shape {"error": "...", "suggestions": [...]} (server/httpx).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/metrics"
	"github.com/riseplatform/rise/server/projects"
	"github.com/riseplatform/rise/server/store"
	"github.com/riseplatform/rise/server/teams"
)

// Authenticator authenticates callers; see the package documentation.
type Authenticator interface {
	Middleware(http.Handler) http.Handler
	Routes(api *mux.Router)
}

// Mount adds routes to a router; see the package documentation.
type Mount interface {
	Routes(r *mux.Router)
}

// MountFunc adapts a function to Mount.
type MountFunc func(r *mux.Router)

// Routes calls f(r).
func (f MountFunc) Routes(r *mux.Router) { f(r) }

// Edge serves app traffic: requests whose Host is <project>.<domain> go to
// the project's app instead of rise's own routes (server/edge implements it).
// It sees requests before authentication, since apps bring their own
// Authorization headers; it checks rise sessions itself for private apps.
type Edge interface {
	http.Handler
	Project(host string) (project string, ok bool)
}

// TLS terminates HTTPS on the main listener (server/edgetls implements it):
// certificates by SNI, a handler wrapper (HSTS), and an optional plain-HTTP
// listener that redirects to HTTPS and answers ACME challenges.
type TLS interface {
	TLSConfig() *tls.Config
	Wrap(http.Handler) http.Handler
	RedirectListen() string
	RedirectHandler() http.Handler
}

// Controller is a background loop; see the package documentation.
type Controller interface {
	Run(ctx context.Context) error
}

// Deps are the parts the server is built from.
type Deps struct {
	Store *store.Store // required
	// Auth authenticates requests. Nil means every request is anonymous
	// (only health and version answer then): fine for tests, never for
	// production.
	Auth        Authenticator
	Mounts      []Mount // on /api/v1
	RootMounts  []Mount // on /
	Controllers []Controller
	Edge        Edge // optional: app traffic by Host
	TLS         TLS  // optional: serve HTTPS on the main listener
	// Audit records state-changing API calls and serves GET /api/v1/audit.
	// Nil: the server builds one on Store with the config's retention.
	// Pass the one the auth package records its events with.
	Audit *audit.Recorder
	// Metrics is the Prometheus registry the server records HTTP requests,
	// database pool stats and deployments by state in, and serves at
	// /metrics. Nil: the server makes one. Pass the one the plugin host,
	// edge and controllers record in. One Metrics serves one Server.
	Metrics *metrics.Metrics
	Log     hclog.Logger
	Version string // shown by GET /api/v1/version
	Commit  string
	// ShutdownGrace bounds graceful shutdown (default 20s).
	ShutdownGrace time.Duration
}

// Server is a configured rise API server.
type Server struct {
	cfg     *config.Server
	deps    Deps
	log     hclog.Logger
	handler http.Handler
	drain   chan struct{}
	once    sync.Once
}

// Defaults applied to cfg by New when fields are empty.
const (
	DefaultListen = "127.0.0.1:3000"
	DefaultDomain = "localhost"
	DefaultScheme = "https"
)

// New builds a Server. It does not listen yet; see Run and Serve.
func New(cfg *config.Server, deps Deps) (*Server, error) {
	if cfg == nil {
		cfg = &config.Server{}
	}
	if deps.Store == nil {
		return nil, errors.New("server: no store")
	}
	c := *cfg
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.AppScheme == "" {
		c.AppScheme = DefaultScheme
	}
	if c.AppScheme != "http" && c.AppScheme != "https" {
		return nil, fmt.Errorf("server: app_scheme must be \"http\" or \"https\", not %q", c.AppScheme)
	}
	if deps.Log == nil {
		deps.Log = hclog.NewNullLogger()
	}
	if deps.ShutdownGrace <= 0 {
		deps.ShutdownGrace = 20 * time.Second
	}
	if deps.Audit == nil {
		deps.Audit = audit.New(deps.Store, audit.Options{Log: deps.Log, Retention: c.AuditRetention()})
	}
	deps.Controllers = append(slices.Clip(deps.Controllers), deps.Audit)
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	deps.Metrics.WatchPool(deps.Store.Pool())
	deps.Metrics.WatchDeployments(metrics.CountLiveDeployments(deps.Store.Pool()))
	s := &Server{cfg: &c, deps: deps, log: deps.Log, drain: make(chan struct{})}
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's complete HTTP handler (middleware included).
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	root := mux.NewRouter()
	nf := notFound(root)
	root.NotFoundHandler, root.MethodNotAllowedHandler = nf, nf
	root.Use(routeLabel)
	if s.metricsListen() == "" {
		root.Handle(MetricsPath, adminOnly(s.deps.Metrics.Handler())).Methods(http.MethodGet)
	}
	api := root.PathPrefix(audit.APIPrefix).Subrouter()
	api.Use(s.deps.Audit.Middleware)

	api.HandleFunc("/health", s.health).Methods(http.MethodGet)
	api.HandleFunc("/ready", s.ready).Methods(http.MethodGet)
	api.HandleFunc("/version", s.version).Methods(http.MethodGet)
	projects.New(s.deps.Store, projects.Options{Domain: s.cfg.Domain, Scheme: s.cfg.AppScheme, Classes: s.cfg.Access.ClassNames()}).Routes(api)
	teams.New(s.deps.Store, s.cfg.Teams).Routes(api)
	s.deps.Audit.Routes(api)
	if s.deps.Auth != nil {
		s.deps.Auth.Routes(api)
	}
	for _, m := range s.deps.Mounts {
		m.Routes(api)
	}
	for _, m := range s.deps.RootMounts {
		m.Routes(root)
	}

	var h http.Handler = root
	h = recordIdentity(h)
	if s.deps.Auth != nil {
		h = s.deps.Auth.Middleware(h)
	}
	h = countRequests(s.deps.Metrics, h) // app traffic is counted by the edge
	h = requestLog(s.log.Named("http"), recoverPanics(s.drainContext(h)))
	if e := s.deps.Edge; e != nil {
		// App traffic skips rise's request log and middleware: the edge
		// keeps its own (sampled) access log on its hot path.
		h = byHost(e, s.deps.Metrics, h)
	}
	if s.deps.TLS != nil {
		h = s.deps.TLS.Wrap(h)
	}
	return h
}

// Run builds a Server from cfg and deps and runs it until ctx ends.
func Run(ctx context.Context, cfg *config.Server, deps Deps) error {
	s, err := New(cfg, deps)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Run listens on cfg.Listen (and metrics.listen) and serves until ctx ends;
// see Serve.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTP on ln (and /metrics on metrics.listen when set) and runs
// the controllers until ctx ends, then shuts
// down gracefully: it stops accepting, cancels the controllers' context,
// closes Draining channels (so streams end), and waits up to ShutdownGrace
// for in-flight requests and controllers.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          s.log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	serveErr := make(chan error, 2)
	if addr := s.metricsListen(); addr != "" {
		mln, err := net.Listen("tcp", addr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("metrics: listen on %s: %w", addr, err)
		}
		mctx, stopMetrics := context.WithCancel(ctx)
		defer stopMetrics()
		go func() {
			if err := s.serveMetrics(mctx, mln); err != nil {
				serveErr <- err
			}
		}()
	}
	ctlCtx, stopControllers := context.WithCancel(ctx)
	defer stopControllers()
	ctlDone := s.startControllers(ctlCtx)

	if t := s.deps.TLS; t != nil {
		srv.TLSConfig = t.TLSConfig()
		stopRedirect, err := s.serveRedirect(t)
		if err != nil {
			stopControllers()
			<-ctlDone
			_ = ln.Close()
			return err
		}
		defer stopRedirect()
		go func() { serveErr <- fmt.Errorf("serve: %w", srv.ServeTLS(ln, "", "")) }()
	} else {
		go func() { serveErr <- fmt.Errorf("serve: %w", srv.Serve(ln)) }()
	}
	s.log.Info("rise server listening", "addr", ln.Addr().String(), "version", s.deps.Version)

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.deps.ShutdownGrace)
	stopControllers()
	s.once.Do(func() { close(s.drain) })
	shutCtx, cancel := context.WithTimeout(context.Background(), s.deps.ShutdownGrace)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil {
		s.log.Warn("requests still running after the grace period; closing them", "error", serr)
		cancelBase()
		_ = srv.Close()
	}
	select {
	case <-ctlDone:
	case <-shutCtx.Done():
		s.log.Warn("controllers did not stop within the grace period")
	}
	s.log.Info("server stopped")
	return err
}

type drainKey struct{}

func (s *Server) drainContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), drainKey{}, (<-chan struct{})(s.drain))))
	})
}

// Draining returns a channel that is closed when the server starts shutting
// down. Long-running handlers (log streams, --follow) select on it and end
// their response so graceful shutdown does not wait for them. Outside a
// server it returns nil (never closed).
func Draining(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(drainKey{}).(<-chan struct{})
	return ch
}

// controllerName names a controller in logs.
func controllerName(c Controller) string {
	if n, ok := c.(interface{ Name() string }); ok {
		return n.Name()
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", c), "*")
}

// byHost sends requests for app hosts to the edge (counting them in
// rise_edge_requests_total) and everything else to next.
func byHost(e Edge, m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := e.Project(r.Host); ok {
			ctx, project := metrics.WithEdgeProject(r.Context())
			observe(w, func(status int, d time.Duration) { m.ObserveEdge(project(), status, d) },
				func(w http.ResponseWriter) { e.ServeHTTP(w, r.WithContext(ctx)) })
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveRedirect serves t's plain-HTTP listener (when configured) until the
// returned function is called.
func (s *Server) serveRedirect(t TLS) (func(), error) {
	addr := t.RedirectListen()
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("tls: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: t.RedirectHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: s.log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}
	go func() { _ = srv.Serve(ln) }()
	s.log.Info("redirecting HTTP to HTTPS", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
