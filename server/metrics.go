package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/metrics"
)

// MetricsPath serves the Prometheus metrics.
const MetricsPath = "/metrics"

type routeKey struct{}

// countRequests records every API request in rise_http_requests_total and
// rise_http_request_duration_seconds. The route label is the matched route's
// template (set by routeLabel inside the router); requests that match no
// route are "other", so scanners cannot grow the label set.
func countRequests(m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := metrics.OtherRoute
		observe(w, func(status int, d time.Duration) { m.ObserveHTTP(route, r.Method, status, d) },
			func(w http.ResponseWriter) {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
			})
	})
}

// observe runs serve with a writer that records the status and reports it
// and the duration, also when serve panics (then re-panicking: recoverPanics
// outside answers 500, and http.ErrAbortHandler keeps its meaning).
func observe(w http.ResponseWriter, report func(status int, d time.Duration), serve func(http.ResponseWriter)) {
	start := time.Now()
	rec := httpx.NewRecorder(w)
	defer func() {
		status := rec.Status()
		v := recover()
		switch {
		case status != 0:
		case v != nil:
			status = http.StatusInternalServerError
		default:
			status = http.StatusOK
		}
		report(status, time.Since(start))
		if v != nil {
			panic(v)
		}
	}()
	serve(rec)
}

// routeLabel (a router middleware, so it runs only for matched routes)
// tells countRequests the route template.
func routeLabel(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			if cr := mux.CurrentRoute(r); cr != nil {
				if t, err := cr.GetPathTemplate(); err == nil {
					*p = t
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// adminOnly serves next to admins (users, not service accounts): 401 to
// anonymous callers, 403 to everyone else.
func adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := web.Caller(r)
		if err != nil {
			httpx.Err(w, r, err)
			return
		}
		if !id.Admin || id.IsServiceAccount() {
			httpx.Err(w, r, httpx.NewError(http.StatusForbidden, "Only admins can read the metrics.",
				"Operators: set metrics { listen = \"127.0.0.1:9090\" } in server.hcl to serve them on their own address."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// metricsListen is the address whether /metrics has its own listen address.
func (s *Server) metricsListen() string { // "" = the main listener, admins only
	if s.cfg.Metrics == nil {
		return ""
	}
	return s.cfg.Metrics.Listen
}

// Metrics is the server's metrics (Deps.Metrics, or the one New made).
func (s *Server) Metrics() *metrics.Metrics { return s.deps.Metrics }

// serveMetrics serves GET /metrics, without authentication, on ln until ctx
// ends.
func (s *Server) serveMetrics(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, s.deps.Metrics.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          s.log.Named("metrics").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("metrics listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}
