package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/dev/realpart"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// With EXEC_TEST_APP=1 the test binary is the app the runtime deploys: an
// HTTP server on $PORT.
func TestMain(m *testing.M) {
	if os.Getenv("EXEC_TEST_APP") == "1" {
		http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		fmt.Println("listening on", os.Getenv("PORT"))
		fmt.Println(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func deployRequest(id string) *sdk.DeployRequest {
	return &sdk.DeployRequest{
		DeploymentID: id, Project: "hello", Group: "default",
		Workload: sdk.Workload{Port: 8080, Replicas: 1, Command: []string{os.Args[0]}, HealthPath: "/healthz",
			Env: map[string]string{"EXEC_TEST_APP": "1"}},
	}
}

func config_(t *testing.T) map[string]any {
	return map[string]any{"work_dir": t.TempDir(), "health_timeout": "20s"}
}

func TestConformanceInProcess(t *testing.T) {
	sdktest.RuntimeConformance(t, Component(), config_(t), sdktest.WithDeployRequest(deployRequest), sdktest.WithProject("hello"))
}

func TestLogsAndValidation(t *testing.T) {
	rt := sdktest.Runtime(t, Component(), config_(t))
	ctx := context.Background()
	d, err := rt.Deploy(ctx, deployRequest("logs-1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(ctx, d, nil)
	var lines []string
	if err := rt.Logs(ctx, d, sdk.LogOptions{Tail: 5}, func(l sdk.LogLine) error { lines = append(lines, l.Text); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "listening on "+fmt.Sprint(d.Upstreams[0][len("http://127.0.0.1:"):]) {
		t.Errorf("logs = %q (upstream %s)", lines, d.Upstreams)
	}
	noCmd := deployRequest("nocmd")
	noCmd.Workload.Command = nil
	if _, err := rt.Deploy(ctx, noCmd, nil); !sdk.IsPermanent(err) {
		t.Errorf("deploy without a command: %v, want a permanent error", err)
	}
	c := sdktest.ConnectComponent(t, Component())
	diags, err := c.ValidateConfig(ctx, sdk.ComponentID{Kind: sdk.KindRuntime, Name: "exec"}, []byte(`{"health_timeout":"soon"}`))
	if err != nil || !diags.HasErrors() || strings.Join(diags[0].Path, ".") != "health_timeout" {
		t.Errorf("invalid health_timeout: want an error at health_timeout, got %+v %v", diags, err)
	}
}

// TestConformanceAsBinary builds the plugin as its own executable and runs
// the suite through rise's plugin host, loading it by path with its SHA-256.
func TestConformanceAsBinary(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		realpart.Missing(t, "Go toolchain", fmt.Errorf("no go on PATH to build the plugin binary: %w", err))
	}
	bin := filepath.Join(t.TempDir(), "rise-plugin-exec")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	h, err := pluginhost.New(context.Background(), pluginhost.Options{
		PluginDirs: []string{},
		Plugins:    []*config.Plugin{{Name: "exec", Path: bin, SHA256: hex.EncodeToString(sum[:])}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close) // after the suite's own clean-ups, which stop its deployments through h
	info, ok := h.Lookup(sdk.KindRuntime, "exec")
	if !ok || info.Source != bin || info.Version != version {
		t.Fatalf("Lookup(exec) = %+v, %v", info, ok)
	}
	sdktest.RuntimeConformanceConn(t, hostConn{h}, "exec", config_(t),
		sdktest.WithDeployRequest(deployRequest), sdktest.WithProject("hello"), sdktest.WithoutStdoutCheck())
}

// hostConn adapts the plugin host to sdktest.Conn.
type hostConn struct{ h *pluginhost.Host }

func (c hostConn) ValidateConfig(ctx context.Context, id sdk.ComponentID, cfg []byte) (sdk.Diagnostics, error) {
	if _, ok := c.h.Lookup(id.Kind, id.Name); !ok {
		return nil, errors.New("no " + id.String())
	}
	var ds sdk.Diagnostics
	for _, d := range c.h.ValidateConfig(ctx, id.Kind, id.Name, cfg, nil, hcl.Range{}) {
		ds = append(ds, sdk.Diagnostic{Summary: d.Summary, Detail: d.Detail})
	}
	return ds, nil
}

func (c hostConn) Builder(string, []byte) sdk.Builder { return nil }

func (c hostConn) Registry(string, []byte) sdk.RegistryClient { return nil }

func (c hostConn) Runtime(component string, cfg []byte) sdk.RuntimeClient {
	r, _ := c.h.Runtime(context.Background(), component, cfg)
	return r
}
