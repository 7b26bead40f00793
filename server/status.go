package server

import (
	"context"
	"net/http"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/httpx"
)

// health is the liveness probe: 200 while the process serves HTTP, whatever
// the database does (restarting rise does not bring PostgreSQL back). No
// authentication (load balancers and orchestrators call it).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, api.Health{Status: "ok"})
}

// ready is the readiness probe: 200 when the database answers within 2s and
// the server is not shutting down, else 503 with Retry-After (send no
// traffic here for now). No authentication.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.drain:
		w.Header().Set("Retry-After", httpx.RetryAfter)
		httpx.JSON(w, http.StatusServiceUnavailable, api.Health{Status: "draining", Database: "unknown"})
		return
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Store.Ping(ctx); err != nil {
		httpx.Logger(r).Warn("readiness: database unreachable", "error", err)
		w.Header().Set("Retry-After", httpx.RetryAfter)
		httpx.JSON(w, http.StatusServiceUnavailable, api.Health{Status: "unavailable", Database: "unreachable"})
		return
	}
	httpx.JSON(w, http.StatusOK, api.Health{Status: "ok", Database: "ok"})
}

// version reports the server's version and plugin protocol. No authentication.
func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	v := s.deps.Version
	if v == "" {
		v = "dev"
	}
	httpx.JSON(w, http.StatusOK, api.Version{Version: v, Commit: s.deps.Commit, Protocol: sdk.ProtocolVersion})
}
