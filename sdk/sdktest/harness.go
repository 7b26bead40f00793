// Package sdktest tests rise plugins: an in-process harness that serves a
// component over real (in-memory) gRPC and returns the same client
// interfaces the rise host uses, LaunchBinary for a built plugin, and
// conformance suites (the kit) that any builder, registry or runtime runs
// against itself. Every check enforces one clause of the plugin contract
// (Contract); the runtime suite deploys the kit's test workload (package
// testapp, AppBinary).
//
//	func TestConformance(t *testing.T) {
//		sdktest.RuntimeConformance(t, myruntime.Component(), map[string]any{"network": "bridge"},
//			sdktest.WithDeployRequest(func(id string) *sdk.DeployRequest { ... }))
//	}
package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/riseplatform/rise/sdk"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// Conn is what the conformance suites need from a plugin connection.
// *sdk.Client implements it; so can an adapter over rise's plugin host for
// out-of-process tests.
type Conn interface {
	ValidateConfig(ctx context.Context, id sdk.ComponentID, cfg []byte) (sdk.Diagnostics, error)
	Builder(component string, cfg []byte) sdk.Builder
	Registry(component string, cfg []byte) sdk.RegistryClient
	Runtime(component string, cfg []byte) sdk.RuntimeClient
}

var (
	_ Conn = (*sdk.Client)(nil)
	_ Conn = (*Connection)(nil)
)

// Connection is a connection to a plugin as the host sees it: the host-side
// client, plus what the conformance suites observe about the plugin (calls
// that ignored their cancellation, stdout writes) and a way to reach it
// through a fresh process.
type Connection struct {
	*sdk.Client
	fresh  func(t *testing.T) *Connection
	late   *lateCalls
	stdout func() string // nil in process (the stdout guard captures os.Stdout)
}

// Fresh returns a new connection to the same plugin: a newly launched
// process for LaunchBinary, fresh component values (nothing shared but
// package-level variables) in process.
func (c *Connection) Fresh(t *testing.T) Conn { return c.fresh(t) }

// lateCalls collects calls that ignored their cancellation.
type lateCalls struct {
	mu    sync.Mutex
	calls []sdk.LateCall
}

func (l *lateCalls) add(c sdk.LateCall) {
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
}

// since returns the calls recorded after the first n.
func (l *lateCalls) since(n int) []sdk.LateCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sdk.LateCall(nil), l.calls[n:]...)
}

func (l *lateCalls) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// Connect serves p in this process over real gRPC (an in-memory listener,
// the SDK's own server and protocol conversion, no binary) and returns the
// host-side connection. It is closed when the test ends.
func Connect(t testing.TB, p sdk.Plugin) *Connection {
	t.Helper()
	if _, err := sdk.Describe(p); err != nil {
		t.Fatalf("sdktest: invalid plugin: %v", err)
	}
	late := &lateCalls{}
	gp := &sdk.GRPCPlugin{Impl: &p}
	srv := grpc.NewServer(sdk.WatchCancellation(sdk.CancelGrace, late.add)...)
	if err := gp.GRPCServer(nil, srv); err != nil {
		t.Fatalf("sdktest: serve: %v", err)
	}
	l := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(l) }()
	cc, err := grpc.NewClient("passthrough:///sdktest",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("sdktest: dial: %v", err)
	}
	// Stop, not GracefulStop: a call that ignores its cancellation would
	// hold the test forever. Then the component instances are cleaned up,
	// as when a plugin process exits.
	t.Cleanup(func() { _ = cc.Close(); srv.Stop(); gp.Close() })
	c := &Connection{Client: sdk.NewClient(cc), late: late}
	c.fresh = func(t *testing.T) *Connection { return Connect(t, p) }
	return c
}

// ConnectComponent serves a single component (plugin name = component name).
func ConnectComponent(t testing.TB, c sdk.Component) *Connection {
	t.Helper()
	return Connect(t, sdk.Plugin{Name: c.Name, Version: "0.0.0-test", Components: []sdk.Component{c}})
}

// Builder serves c in-process and returns it as the host sees it.
func Builder(t testing.TB, c sdk.Component, cfg any) sdk.Builder {
	t.Helper()
	return ConnectComponent(t, c).Builder(c.Name, ConfigJSON(t, cfg))
}

// Registry serves c in-process and returns it as the host sees it.
func Registry(t testing.TB, c sdk.Component, cfg any) sdk.RegistryClient {
	t.Helper()
	return ConnectComponent(t, c).Registry(c.Name, ConfigJSON(t, cfg))
}

// Runtime serves c in-process and returns it as the host sees it.
func Runtime(t testing.TB, c sdk.Component, cfg any) sdk.RuntimeClient {
	t.Helper()
	return ConnectComponent(t, c).Runtime(c.Name, ConfigJSON(t, cfg))
}

// ConfigJSON turns a test config into the HCL-JSON the host sends: nil is
// an empty config, []byte and string are used as they are, anything else is
// marshalled with encoding/json (use maps with the HCL attribute names).
func ConfigJSON(t testing.TB, cfg any) []byte {
	t.Helper()
	switch c := cfg.(type) {
	case nil:
		return []byte("{}")
	case []byte:
		return c
	case string:
		return []byte(c)
	default:
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("sdktest: encode config: %v", err)
		}
		return b
	}
}

// RecordingUI is a sdk.UI that records what a plugin reported.
type RecordingUI struct {
	mu     sync.Mutex
	events []string
	// OnEvent, if set, is called after each event is recorded.
	OnEvent func(event string)
}

// Events returns the recorded events: "step <title>", "done <title>",
// "fail <title>: <err>", "log <text>", "out <title>: <data>".
func (u *RecordingUI) Events() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.events...)
}

func (u *RecordingUI) record(e string) {
	u.mu.Lock()
	u.events = append(u.events, e)
	f := u.OnEvent
	u.mu.Unlock()
	if f != nil {
		f(e)
	}
}

// Step implements sdk.UI.
func (u *RecordingUI) Step(title string) sdk.Step {
	u.record("step " + title)
	return &recStep{ui: u, title: title}
}

// Logf implements sdk.UI.
func (u *RecordingUI) Logf(format string, args ...any) {
	u.record("log " + fmt.Sprintf(format, args...))
}

type recStep struct {
	ui    *RecordingUI
	title string
}

func (s *recStep) Done() { s.ui.record("done " + s.title) }
func (s *recStep) Fail(err error) error {
	s.ui.record(fmt.Sprintf("fail %s: %v", s.title, err))
	return err
}
func (s *recStep) Writer(sdk.Stream) io.Writer { return recWriter{s} }

type recWriter struct{ s *recStep }

func (w recWriter) Write(p []byte) (int, error) {
	w.s.ui.record("out " + w.s.title + ": " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
