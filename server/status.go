package server

import (
	"context"
	"net/http"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/httpx"
)

// health answers 200 when the database answers within 2s, else 503. It needs
// no authentication (load balancers call it).
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Store.Ping(ctx); err != nil {
		httpx.Logger(r).Warn("health check: database unreachable", "error", err)
		httpx.JSON(w, http.StatusServiceUnavailable, api.Health{Status: "degraded", Database: "unreachable"})
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
