package sdk

import (
	"context"
	"sync"
	"time"

	"github.com/riseplatform/rise/sdk/pluginpb"
	"google.golang.org/grpc"
)

// LateCall is a plugin call that did not honour the cancellation of its
// context: the host gave up on it (a cancelled deploy, a closed `logs
// --follow`), and the plugin kept working.
type LateCall struct {
	Method string        // gRPC method, e.g. /rise.plugin.v1.Runtime/Deploy
	After  time.Duration // how long after the cancellation this was seen
	// Returned is false when the call was still running After the
	// cancellation, true when it then returned without an error (as if
	// the work had succeeded, though nobody was waiting any more).
	Returned bool
}

// LateCallMessage is the log message a served plugin writes for a LateCall
// (fields method, after, returned); sdktest looks for it.
const LateCallMessage = "call ignored its cancellation"

// CancelGrace is how long a call may run on after its cancellation before
// it is reported as a LateCall.
const CancelGrace = time.Second

// WatchCancellation returns gRPC server options that report calls which
// ignore their cancellation: still running grace after it, or returning
// success after it. Serve installs it with report logging LateCallMessage.
func WatchCancellation(grace time.Duration, report func(LateCall)) []grpc.ServerOption {
	watch := func(ctx context.Context, method string, call func(result func()) error) error {
		var mu sync.Mutex
		var cancelled time.Time
		done := false
		stop := context.AfterFunc(ctx, func() {
			mu.Lock()
			cancelled = time.Now()
			mu.Unlock()
			time.AfterFunc(grace, func() {
				mu.Lock()
				still := !done
				mu.Unlock()
				if still {
					report(LateCall{Method: method, After: grace})
				}
			})
		})
		var resultAt time.Time
		err := call(func() { resultAt = time.Now() })
		stop()
		mu.Lock()
		done = true
		at := cancelled
		mu.Unlock()
		// Success this long after the cancellation is not a race with
		// the host's cancel: the call ignored it.
		// (A stream's result message counts as success: sending it fails
		// once the host has gone.)
		succeeded := err == nil || !resultAt.IsZero()
		if succeeded && !at.IsZero() && time.Since(at) > 50*time.Millisecond {
			report(LateCall{Method: method, After: time.Since(at), Returned: true})
		}
		return err
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			var resp any
			err := watch(ctx, info.FullMethod, func(func()) (err error) { resp, err = h(ctx, req); return err })
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return watch(ss.Context(), info.FullMethod, func(result func()) error {
				return h(srv, resultStream{ServerStream: ss, result: result})
			})
		}),
	}
}

// resultStream notes when a Deploy or Rollback stream sends its result.
type resultStream struct {
	grpc.ServerStream
	result func()
}

func (s resultStream) SendMsg(m any) error {
	if r, ok := m.(*pluginpb.DeployResponse); ok && r.GetDeployment() != nil {
		s.result()
	}
	return s.ServerStream.SendMsg(m)
}
