package server

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// requestLog assigns the request id, puts a request-scoped logger in the
// context (httpx.Logger) and logs one line per request.
func requestLog(log hclog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		rl := log.With("request_id", id)
		info := &reqInfo{}
		ctx := httpx.WithRequestID(r.Context(), id)
		ctx = httpx.WithLogger(ctx, rl)
		ctx = withReqInfo(ctx, info)
		rec := httpx.NewRecorder(w)
		next.ServeHTTP(rec, r.WithContext(ctx))
		status := rec.StatusOr(http.StatusOK)
		level := hclog.Info
		switch {
		case status >= 500:
			level = hclog.Error
		case r.URL.Path == "/api/v1/health" || r.URL.Path == "/api/v1/ready":
			level = hclog.Debug
		}
		rl.Log(level, "request", "method", r.Method, "path", r.URL.Path, "status", status,
			"bytes", rec.Bytes(), "duration", time.Since(start).Round(time.Microsecond), "caller", info.subject,
			"remote", r.RemoteAddr)
	})
}

// recoverPanics turns a handler panic into a logged 500. http.ErrAbortHandler
// is re-panicked: it is how a handler aborts a response on purpose.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			httpx.Logger(r).Error("handler panicked", "panic", v, "stack", string(debug.Stack()))
			if rec, ok := w.(*httpx.Recorder); ok && rec.Status() != 0 {
				return // headers are out; nothing sensible left to send
			}
			httpx.JSON(w, http.StatusInternalServerError, api.Error{
				Message: "internal server error (request id " + httpx.RequestID(r) + ")"})
		}()
		next.ServeHTTP(w, r)
	})
}

// recordIdentity notes the caller (set by the auth middleware outside it) for
// the request log line.
func recordIdentity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := reqInfoFrom(r.Context()); info != nil {
			info.subject = identity.From(r.Context()).Subject()
		}
		next.ServeHTTP(w, r)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// notFound answers unmatched requests. gorilla/mux reports a wrong method on
// a subrouter's route as "not found", so this checks the other methods and
// answers 405 with an Allow header when the path exists.
func notFound(root *mux.Router) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			var rm mux.RouteMatch
			c := r.Clone(r.Context())
			c.Method = m
			if root.Match(c, &rm) && rm.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpx.Err(w, r, httpx.Errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s (allowed: %s)",
				r.Method, r.URL.Path, strings.Join(allow, ", ")))
			return
		}
		httpx.Err(w, r, httpx.Errorf(http.StatusNotFound, "no such API route: %s %s", r.Method, r.URL.Path))
	}
}

// RecordCaller names id as the caller of r in r's request log line, for
// handlers that authenticate a request themselves (the dashboard and the
// event stream, by the browser session cookie).
func RecordCaller(r *http.Request, id *identity.Identity) {
	if info := reqInfoFrom(r.Context()); info != nil {
		info.subject = id.Subject()
	}
}
