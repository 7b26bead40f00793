package pluginhost_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// The test binary doubles as every plugin the tests launch:
//
//	<test binary> plugin serve <kind>/<name>   a built-in (like `rise plugin serve`)
//	<test binary> plugin serve-external        an external plugin with several components
//	<test binary> plugin serve-v1              a plugin speaking only protocol version 1 (an old SDK)
//	<test binary> plugin serve-v3              a plugin speaking only protocol version 3 (a newer SDK)
//
// and, with PLUGINHOST_TEST_HOST=1, as a host process for the orphan test.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == "plugin" {
		os.Exit(servePlugin(os.Args[2:]))
	}
	if os.Getenv("PLUGINHOST_TEST_HOST") == "1" {
		os.Exit(hostMain())
	}
	os.Exit(m.Run())
}

func builtins() []sdk.Component {
	return []sdk.Component{sdktest.MemoryRuntime(), sdktest.MemoryRegistry(), faultyComponent(), blockyComponent()}
}

func servePlugin(args []string) int {
	switch args[0] {
	case "serve":
		for _, c := range builtins() {
			k, _ := sdk.KindOf(c)
			if (sdk.ComponentID{Kind: k, Name: c.Name}).String() == args[1] {
				return sdk.Main(sdk.Plugin{Name: c.Name, Version: "test", Components: []sdk.Component{c}}, args[2:])
			}
		}
		fmt.Fprintf(os.Stderr, "no built-in %s\n", args[1])
		return 1
	case "serve-external":
		return sdk.Main(externalPlugin(), args[1:])
	case "serve-bare":
		return serveBare(args[1])
	case "serve-v1", "serve-v3":
		// What a plugin built against another SDK does at the handshake:
		// offer only its own protocol version.
		v := 1
		if args[0] == "serve-v3" {
			v = 3
		}
		p := externalPlugin()
		hs := sdk.Handshake
		hs.ProtocolVersion = uint(v)
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  hs,
			VersionedPlugins: map[int]plugin.PluginSet{v: {sdk.DispenseName: &sdk.GRPCPlugin{Impl: &p}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
		return 0
	}
	return 2
}

func externalPlugin() sdk.Plugin {
	return sdk.Plugin{Name: "ext", Version: "1.2.3", Components: []sdk.Component{
		{Name: "extmem", New: sdktest.MemoryRuntime().New},
		{Name: "faulty", New: faultyComponent().New},
	}}
}

// hostMain starts a plugin, prints its pid and waits to be killed.
func hostMain() int {
	h, err := pluginhost.New(context.Background(), pluginhost.Options{Builtins: builtins(), PluginDirs: []string{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rt, _ := h.Runtime(context.Background(), "faulty", nil)
	pid, err := pluginPID(context.Background(), rt)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("PID %d\n", pid)
	time.Sleep(time.Hour)
	return 0
}

// faulty is a runtime that misbehaves on request (config mode).
type faulty struct {
	Mode string `hcl:"mode,optional"`
	// Marker is a file Cleanup appends "cleanup" to.
	Marker string `hcl:"marker,optional"`
}

func (f *faulty) Cleanup() error {
	if f.Marker == "" {
		return nil
	}
	fh, err := os.OpenFile(f.Marker, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer fh.Close()
	_, err = fh.WriteString("cleanup\n")
	return err
}

func faultyComponent() sdk.Component {
	return sdk.Component{Name: "faulty", Description: "misbehaves on purpose", New: func() any { return &faulty{} }}
}

func (f *faulty) Deploy(_ context.Context, req *sdk.DeployRequest, _ sdk.UI) (*sdk.Deployment, error) {
	return &sdk.Deployment{ID: req.DeploymentID}, nil
}

func (f *faulty) Status(ctx context.Context, _ *sdk.Deployment) (*sdk.Status, error) {
	if f.Mode != "" {
		hclog.Default().Info("status called", "mode", f.Mode)
	}
	switch f.Mode {
	case "panic":
		panic("faulty plugin panics on purpose")
	case "hang":
		time.Sleep(time.Hour)
	case "exit":
		log.Fatalf("fatal: disk on fire")
	case "env":
		return &sdk.Status{Message: os.Getenv("PLUGINHOST_TEST_SECRET") + "," + os.Getenv("PLUGIN_ONLY")}, nil
	case "notfound":
		return nil, fmt.Errorf("deployment: %w", sdk.ErrNotFound)
	}
	return &sdk.Status{Health: sdk.HealthHealthy, Message: fmt.Sprintf("pid=%d", os.Getpid())}, nil
}

func (f *faulty) Stop(context.Context, *sdk.Deployment, sdk.UI) error { return nil }

func pluginPID(ctx context.Context, rt sdk.Runtime) (int, error) {
	st, err := rt.Status(ctx, &sdk.Deployment{ID: "x"})
	if err != nil {
		return 0, err
	}
	var pid int
	if _, err := fmt.Sscanf(st.Message, "pid=%d", &pid); err != nil {
		return 0, fmt.Errorf("status %q: %w", st.Message, err)
	}
	return pid, nil
}

func newHost(t *testing.T, mod func(*pluginhost.Options)) *pluginhost.Host {
	t.Helper()
	// Log into a buffer, shown if the test fails: go-plugin may still log
	// from its goroutines after the test has returned.
	logs := &syncBuffer{b: &bytes.Buffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("host log:\n%s", logs.String())
		}
	})
	opts := pluginhost.Options{Builtins: builtins(), PluginDirs: []string{}, Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug})}
	if mod != nil {
		mod(&opts)
	}
	h, err := pluginhost.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// alive reports whether pid is a live (non-zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d is still running", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostConn adapts a Host to sdktest.Conn for out-of-process conformance runs.
type hostConn struct{ h *pluginhost.Host }

func (c hostConn) ValidateConfig(ctx context.Context, id sdk.ComponentID, cfg []byte) (sdk.Diagnostics, error) {
	if _, ok := c.h.Lookup(id.Kind, id.Name); !ok {
		return nil, errors.New("unknown component " + id.String())
	}
	var ds sdk.Diagnostics
	for _, d := range c.h.ValidateConfig(ctx, id.Kind, id.Name, cfg, nil, hclRange()) {
		ds = append(ds, sdk.Diagnostic{Summary: d.Summary, Detail: d.Detail})
	}
	return ds, nil
}

func (c hostConn) Builder(component string, cfg []byte) sdk.Builder {
	b, _ := c.h.Builder(context.Background(), component, cfg)
	return b
}

func (c hostConn) Registry(component string, cfg []byte) sdk.RegistryClient {
	r, _ := c.h.Registry(context.Background(), component, cfg)
	return r
}

func (c hostConn) Runtime(component string, cfg []byte) sdk.RuntimeClient {
	r, _ := c.h.Runtime(context.Background(), component, cfg)
	return r
}
