// Package exitcode defines the rise CLI's exit codes and the error type that
// carries one. Every command error is mapped to exactly one code by CodeOf,
// and the same code appears in `-o json` error output.
package exitcode

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/riseplatform/rise/core/api"
)

// Exit codes of the rise CLI (documented in docs/cli.md).
const (
	OK               = 0
	Error            = 1   // any other error
	Usage            = 2   // bad flags or arguments
	Cancelled        = 3   // the user declined a confirmation or cancelled the operation
	NotAuthenticated = 4   // no token, expired token, or the server rejected it
	PermissionDenied = 5   // authenticated but not allowed
	NotFound         = 6   // the named project, team, deployment… does not exist (or is not yours)
	BuildFailed      = 10  // building the container image failed
	PushFailed       = 11  // pushing the image to the registry failed
	RolloutFailed    = 12  // the deployment ended Failed / unhealthy
	TimedOut         = 13  // a wait (--timeout, login) ran out of time
	Interrupted      = 130 // SIGINT (Ctrl-C)
)

// CodeError is an error with an exit code and optional "Did you mean"
// suggestions.
type CodeError struct {
	Code        int
	Err         error
	Suggestions []string
}

func (e *CodeError) Error() string { return e.Err.Error() }
func (e *CodeError) Unwrap() error { return e.Err }

// New returns an error with code and a formatted message.
func New(code int, format string, args ...any) error {
	return &CodeError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Wrap attaches code to err (nil stays nil).
func Wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	return &CodeError{Code: code, Err: err}
}

// Usagef returns a usage error (exit code 2).
func Usagef(format string, args ...any) error { return New(Usage, format, args...) }

// NotLoggedIn is the error for a missing or expired token.
func NotLoggedIn(reason string) error {
	return New(NotAuthenticated, "%s; run `rise login`", reason)
}

// CodeOf maps err to an exit code.
func CodeOf(err error) int {
	if err == nil {
		return OK
	}
	var ce *CodeError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized:
			return NotAuthenticated
		case http.StatusForbidden:
			return PermissionDenied
		case http.StatusNotFound:
			return NotFound
		case http.StatusRequestTimeout, http.StatusGatewayTimeout:
			return TimedOut
		}
		return Error
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.Is(err, context.DeadlineExceeded):
		return TimedOut
	}
	if isCobraUsage(err.Error()) {
		return Usage
	}
	return Error
}

// isCobraUsage recognises the usage errors cobra itself returns (unknown
// command, arity) that do not pass through the flag error hook.
func isCobraUsage(msg string) bool {
	for _, p := range []string{"unknown command ", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument ", "flag needs an argument", "required flag(s)", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// SuggestionsOf returns the "did you mean" candidates carried by err.
func SuggestionsOf(err error) []string {
	var ce *CodeError
	if errors.As(err, &ce) && len(ce.Suggestions) > 0 {
		return ce.Suggestions
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Suggestions
	}
	return nil
}

// Message renders err for people: the message, a full stop if it has no
// final punctuation and suggestions follow, then "Did you mean 'x'?".
//
//	Team 'devopsy' does not exist or you do not have permission to create projects for it. Did you mean 'devops'?
func Message(err error) string {
	msg := err.Error()
	var ae *api.Error
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && !strings.Contains(msg, "rise login") {
		msg = strings.TrimRight(msg, ". ") + "; run `rise login`"
	}
	sugg := SuggestionsOf(err)
	if len(sugg) == 0 {
		return msg
	}
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "!") && !strings.HasSuffix(msg, "?") {
		msg += "."
	}
	return msg + " " + DidYouMean(sugg)
}

// DidYouMean formats suggestions: "Did you mean 'a'?", "Did you mean 'a' or
// 'b'?", "Did you mean 'a', 'b' or 'c'?".
func DidYouMean(sugg []string) string {
	q := make([]string, len(sugg))
	for i, s := range sugg {
		q[i] = "'" + s + "'"
	}
	var list string
	if len(q) == 1 {
		list = q[0]
	} else {
		list = strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	}
	return "Did you mean " + list + "?"
}

// JSONError is the `-o json` error document.
type JSONError struct {
	Error       string   `json:"error"`
	Suggestions []string `json:"suggestions,omitempty"`
	ExitCode    int      `json:"exit_code"`
}

// ToJSON returns the `-o json` document for err.
func ToJSON(err error) JSONError {
	return JSONError{Error: err.Error(), Suggestions: SuggestionsOf(err), ExitCode: CodeOf(err)}
}
