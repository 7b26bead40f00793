package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// request deploys the conformance kit's test workload (sdktest.AppBinary)
// as a host process.
func request(app string) func(id string) *sdk.DeployRequest {
	return func(id string) *sdk.DeployRequest {
		return &sdk.DeployRequest{
			DeploymentID: id, Project: "hello", Group: "default",
			Workload: sdk.Workload{Port: 8080, Replicas: 1, Command: []string{app}, HealthPath: "/healthz"},
		}
	}
}

func config_(t *testing.T) map[string]any {
	return map[string]any{"work_dir": t.TempDir(), "health_timeout": "20s"}
}

func TestConformanceInProcess(t *testing.T) {
	sdktest.RuntimeConformance(t, Component(), config_(t),
		sdktest.WithDeployRequest(request(sdktest.AppBinary(t))), sdktest.WithProject("hello"))
}

// TestConformanceAsBinary builds the plugin as its own executable and runs
// the suite against it, launched the way rise launches plugins.
func TestConformanceAsBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rise-plugin-exec")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sdktest.RuntimeConformanceConn(t, sdktest.LaunchBinary(t, bin, nil), "exec", config_(t),
		sdktest.WithDeployRequest(request(sdktest.AppBinary(t))), sdktest.WithProject("hello"))
}

func TestLogsAndValidation(t *testing.T) {
	rt := sdktest.Runtime(t, Component(), config_(t))
	ctx := context.Background()
	d, err := rt.Deploy(ctx, request(sdktest.AppBinary(t))("logs-1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(ctx, d, nil)
	var lines []string
	if err := rt.Logs(ctx, d, sdk.LogOptions{Tail: 1}, func(l sdk.LogLine) error { lines = append(lines, l.Text); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "sdktest start 5" {
		t.Errorf("logs = %q, want the app's last start line", lines)
	}
	noCmd := request("app")("nocmd")
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
