package sdk

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrUnavailable means the plugin process could not be reached (it died or
// was never started). Errors returned through a plugin client that match it
// are retryable: the host starts a fresh process on the next call.
var ErrUnavailable = errors.New("plugin unavailable")

// errorDomain is the ErrorInfo domain of rise's typed plugin errors.
const errorDomain = "rise.plugin.v1"

// Error reasons carried in google.rpc.ErrorInfo.
const (
	reasonNotFound       = "NOT_FOUND"
	reasonUnsupported    = "UNSUPPORTED"
	reasonNotImplemented = "NOT_IMPLEMENTED"
	reasonPermanent      = "PERMANENT"
	reasonInvalidConfig  = "INVALID_CONFIG"
)

// toStatus converts an error returned by a component into a gRPC status
// error: the plugin side of the error mapping.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	code, reason := codes.Unknown, ""
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, ErrNotFound):
		code, reason = codes.NotFound, reasonNotFound
	case errors.Is(err, ErrUnsupported):
		code, reason = codes.Unimplemented, reasonUnsupported
	case errors.Is(err, ErrNotImplemented):
		code, reason = codes.Unimplemented, reasonNotImplemented
	case IsPermanent(err):
		code, reason = codes.FailedPrecondition, reasonPermanent
	}
	meta := map[string]string{}
	if IsPermanent(err) {
		meta["permanent"] = "true"
	}
	return statusErr(code, reason, err.Error(), meta)
}

func statusErr(code codes.Code, reason, msg string, meta map[string]string) error {
	st := status.New(code, msg)
	if reason != "" || len(meta) > 0 {
		if st2, err := st.WithDetails(&errdetails.ErrorInfo{Domain: errorDomain, Reason: reason, Metadata: meta}); err == nil {
			st = st2
		}
	}
	return st.Err()
}

// remoteError is an error that came back from a plugin. It unwraps to the
// SDK's sentinel errors so errors.Is and IsPermanent work on the host side.
type remoteError struct {
	st    *status.Status
	wraps []error
}

func (e *remoteError) Error() string              { return e.st.Message() }
func (e *remoteError) Unwrap() []error            { return e.wraps }
func (e *remoteError) GRPCStatus() *status.Status { return e.st }

// fromStatus converts a gRPC error from a plugin call back into an error the
// host can inspect with errors.Is (ErrNotFound, ErrUnsupported,
// ErrNotImplemented, ErrUnavailable, context errors) and IsPermanent.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var reason string
	permanent := false
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Domain == errorDomain {
			reason = info.Reason
			permanent = info.Metadata["permanent"] == "true"
		}
	}
	re := &remoteError{st: st}
	switch st.Code() {
	case codes.Canceled:
		re.wraps = append(re.wraps, context.Canceled)
	case codes.DeadlineExceeded:
		re.wraps = append(re.wraps, context.DeadlineExceeded)
	case codes.NotFound:
		re.wraps = append(re.wraps, ErrNotFound)
	case codes.Unimplemented:
		if reason == reasonNotImplemented {
			re.wraps = append(re.wraps, ErrNotImplemented)
		} else {
			re.wraps = append(re.wraps, ErrUnsupported)
		}
	case codes.Unavailable:
		re.wraps = append(re.wraps, ErrUnavailable)
	case codes.InvalidArgument, codes.FailedPrecondition:
		permanent = true
	}
	if permanent {
		re.wraps = append(re.wraps, permanentError{errors.New(st.Message())})
	}
	return re
}
