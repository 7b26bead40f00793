package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// suite holds what every conformance suite shares.
type suite struct {
	conn      Conn
	id        sdk.ComponentID
	component string
	cfg       []byte
	o         *options
	guard     *stdoutGuard
}

func newSuite(t *testing.T, conn Conn, kind sdk.Kind, component string, cfg any, opts []Option) *suite {
	t.Helper()
	o := newOptions(opts)
	checkSkips(t, string(kind), o.skips)
	g := &stdoutGuard{enabled: o.checkStdout}
	if c, ok := conn.(*Connection); ok && c.stdout != nil {
		g = &stdoutGuard{remote: c.stdout} // out of process: what go-plugin forwarded
	}
	return &suite{conn: conn, id: sdk.ComponentID{Kind: kind, Name: component}, component: component, cfg: ConfigJSON(t, cfg), o: o, guard: g}
}

// skipped reports whether check c is skipped (and why).
func (s *suite) skipped(c Check) (string, bool) {
	r, ok := s.o.skips[c]
	return r, ok
}

func (s *suite) run(t *testing.T, c Check, f func(v violation)) bool {
	t.Helper()
	return t.Run(string(c), func(t *testing.T) {
		if reason, ok := s.skipped(c); ok {
			t.Skipf("skipped by sdktest.Skip: %s", reason)
		}
		f(violation{T: t, check: c})
	})
}

func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.timeout)
	t.Cleanup(cancel)
	return ctx
}

// invalidConfig is the configured invalid config, or the valid one plus an
// attribute no component declares.
func (s *suite) invalidConfig(t *testing.T) []byte {
	if s.o.invalidCfg != nil {
		return ConfigJSON(t, s.o.invalidCfg)
	}
	m := map[string]any{}
	if err := json.Unmarshal(s.cfg, &m); err != nil {
		t.Fatalf("sdktest: config is not a JSON object: %v", err)
	}
	m["sdktest_no_such_attribute"] = true
	b, _ := json.Marshal(m)
	return b
}

// checkConfigDiagnostics: a valid config validates, an invalid one yields
// error diagnostics (not an RPC error), and operations with it fail permanently.
func (s *suite) checkConfigDiagnostics(t violation, op func(ctx context.Context, cfg []byte) error) {
	ctx := s.ctx(t.T)
	var diags sdk.Diagnostics
	var err error
	s.guard.do(t.T, func() { diags, err = s.conn.ValidateConfig(ctx, s.id, s.cfg) })
	if err != nil {
		t.Fatalf("ValidateConfig(valid config): %v", err)
	}
	if diags.HasErrors() {
		t.Fatalf("ValidateConfig(valid config) reported errors: %v", diags.Err())
	}
	bad := s.invalidConfig(t.T)
	s.guard.do(t.T, func() { diags, err = s.conn.ValidateConfig(ctx, s.id, bad) })
	if err != nil {
		t.Fatalf("ValidateConfig(invalid config) returned an RPC error instead of diagnostics: %v", err)
	}
	if !diags.HasErrors() {
		t.Fatalf("ValidateConfig(%s) reported no error diagnostics", bad)
	}
	s.guard.do(t.T, func() { err = op(ctx, bad) })
	if err == nil || !sdk.IsPermanent(err) {
		t.Fatalf("operation with invalid config: want a permanent error, got %v", err)
	}
}

// checkCancelled: a call with a cancelled context fails with context.Canceled.
func (s *suite) checkCancelled(t violation, op func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var err error
	s.guard.do(t.T, func() { err = op(ctx) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("call with cancelled context: want context.Canceled, got %v", err)
	}
}

// RuntimeConformance runs the runtime conformance suite against component c
// served in-process with config cfg.
func RuntimeConformance(t *testing.T, c sdk.Component, cfg any, opts ...Option) {
	t.Helper()
	checkKind(t, c, sdk.KindRuntime)
	checkLifecycle(t, c, ConfigJSON(t, cfg))
	RuntimeConformanceConn(t, ConnectComponent(t, c), c.Name, cfg, opts...)
}

// RegistryConformance runs the registry conformance suite in-process.
func RegistryConformance(t *testing.T, c sdk.Component, cfg any, opts ...Option) {
	t.Helper()
	checkKind(t, c, sdk.KindRegistry)
	checkLifecycle(t, c, ConfigJSON(t, cfg))
	RegistryConformanceConn(t, ConnectComponent(t, c), c.Name, cfg, opts...)
}

// BuilderConformance runs the builder conformance suite in-process.
func BuilderConformance(t *testing.T, c sdk.Component, cfg any, opts ...Option) {
	t.Helper()
	checkKind(t, c, sdk.KindBuilder)
	checkLifecycle(t, c, ConfigJSON(t, cfg))
	BuilderConformanceConn(t, ConnectComponent(t, c), c.Name, cfg, opts...)
}

func checkKind(t *testing.T, c sdk.Component, want sdk.Kind) {
	t.Helper()
	info, err := sdk.DescribeComponent(c)
	if err != nil {
		t.Fatalf("component: %v", err)
	}
	if info.Kind != want {
		t.Fatalf("component %s is a %s, not a %s", c.Name, info.Kind, want)
	}
}

var idSeq atomic.Int64

func newDeploymentID() string {
	return fmt.Sprintf("sdktest-%d-%d", time.Now().UnixNano()%1_000_000_000, idSeq.Add(1))
}
