// Package httpx holds the JSON plumbing every rise handler shares: strict
// request decoding and the one error shape {"error": "...", "suggestions": [...]}.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/store"
)

// MaxBody is the largest request body a JSON handler accepts.
const MaxBody = 1 << 20

// Error is an error with an HTTP status that is safe to show to the caller.
type Error struct {
	Status      int
	Message     string
	Suggestions []string
}

func (e *Error) Error() string { return e.Message }

// NewError returns an *Error.
func NewError(status int, msg string, suggestions ...string) *Error {
	return &Error{Status: status, Message: msg, Suggestions: suggestions}
}

// Errorf returns an *Error with a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// Decode reads a JSON request body into v. It requires an application/json
// content type, limits the body to MaxBody, rejects unknown fields and
// trailing data, and returns a 4xx *Error describing what is wrong.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return NewError(http.StatusUnsupportedMediaType, "request body must be JSON (Content-Type: application/json)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return NewError(http.StatusBadRequest, "request body must contain a single JSON object")
	}
	return nil
}

func decodeError(err error) *Error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		tooBig  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooBig):
		return Errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", MaxBody)
	case errors.As(err, &syntax):
		return Errorf(http.StatusBadRequest, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return Errorf(http.StatusBadRequest, "field %q must be a %s", typeErr.Field, typeErr.Type)
		}
		return Errorf(http.StatusBadRequest, "request body must be a JSON %s", typeErr.Type)
	case errors.Is(err, io.EOF):
		return NewError(http.StatusBadRequest, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return NewError(http.StatusBadRequest, "malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Errorf(http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return Errorf(http.StatusBadRequest, "invalid request body: %v", err)
	}
}

// JSON writes v as a JSON response with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// RetryAfter is the Retry-After (seconds) of a 503 while the database is
// unreachable.
const RetryAfter = "5"

// Unavailable writes the 503 the API answers while the database cannot be
// reached: the one place that maps an outage to HTTP.
func Unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", RetryAfter)
	JSON(w, http.StatusServiceUnavailable, api.Error{
		Message:     "rise cannot reach its database right now.",
		Suggestions: []string{"Try again in a few seconds."},
	})
}

// Err writes err in the one error shape. An *Error is shown as is; a
// database outage (store.IsUnavailable) is a 503 with Retry-After; any other
// error is logged with the request id and answered with a generic 500, so
// internals never leak.
func Err(w http.ResponseWriter, r *http.Request, err error) {
	var he *Error
	if errors.As(err, &he) {
		JSON(w, he.Status, api.Error{Message: he.Message, Suggestions: he.Suggestions})
		return
	}
	if store.IsUnavailable(err) {
		Logger(r).Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "error", err)
		Unavailable(w)
		return
	}
	Logger(r).Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	JSON(w, http.StatusInternalServerError, api.Error{Message: "internal server error (request id " + RequestID(r) + ")"})
}
