package pluginhost

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Observer receives plugin metrics (server/metrics implements it). Its
// methods must be quick and safe for concurrent use.
type Observer interface {
	// PluginCall is one finished gRPC call: plugin is the binary's name
	// ("runtime/docker" for built-ins), method "Runtime/Deploy", outcome one
	// of ok, error, timeout, canceled, unavailable. Streamed calls finish
	// when the stream ends.
	PluginCall(plugin, method, outcome string, d time.Duration)
	// PluginRestart is a plugin process started again because the previous
	// one crashed or hung.
	PluginRestart(plugin string)
}

// dialOptions instrument the connection to plugin with the host's Observer.
// Only rise's plugin services are observed, not go-plugin's own (stdio,
// broker, controller, health).
func (b *binary) dialOptions() []grpc.DialOption {
	obs := b.h.opts.Observer
	if obs == nil {
		return nil
	}
	plugin := b.name
	unary := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		name, ok := observedMethod(method)
		if !ok {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		obs.PluginCall(plugin, name, callOutcome(err), time.Since(start))
		return err
	}
	stream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		name, ok := observedMethod(method)
		if !ok {
			return streamer(ctx, desc, cc, method, opts...)
		}
		start := time.Now()
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			obs.PluginCall(plugin, name, callOutcome(err), time.Since(start))
			return nil, err
		}
		return &observedStream{ClientStream: cs, done: func(err error) {
			obs.PluginCall(plugin, name, callOutcome(err), time.Since(start))
		}}, nil
	}
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(unary), grpc.WithChainStreamInterceptor(stream)}
}

// observedMethod turns "/rise.plugin.v1.Runtime/Deploy" into
// "Runtime/Deploy"; other services are not observed.
func observedMethod(full string) (string, bool) {
	if !strings.HasPrefix(full, "/rise.") {
		return "", false
	}
	svc, m, ok := strings.Cut(full[1:], "/")
	if !ok {
		return "", false
	}
	return svc[strings.LastIndex(svc, ".")+1:] + "/" + m, true
}

func callOutcome(err error) string {
	if err == nil || errors.Is(err, io.EOF) {
		return "ok"
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return "timeout"
	case codes.Canceled:
		return "canceled"
	case codes.Unavailable:
		return "unavailable"
	}
	return "error"
}

// observedStream reports the end of a stream once: its first receive error
// (io.EOF is a clean end).
type observedStream struct {
	grpc.ClientStream
	once sync.Once
	done func(error)
}

func (s *observedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.once.Do(func() { s.done(err) })
	}
	return err
}
