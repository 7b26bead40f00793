package httpx

import (
	"context"
	"net/http"

	"github.com/hashicorp/go-hclog"
)

type (
	loggerKey    struct{}
	requestIDKey struct{}
)

// WithLogger returns ctx carrying a request-scoped logger.
func WithLogger(ctx context.Context, l hclog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the request's logger (with its request id), or the default logger.
func Logger(r *http.Request) hclog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(hclog.Logger); ok {
		return l
	}
	return hclog.Default()
}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request's id, or "-".
func RequestID(r *http.Request) string {
	if id, ok := r.Context().Value(requestIDKey{}).(string); ok {
		return id
	}
	return "-"
}
