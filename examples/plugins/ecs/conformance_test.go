package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

func conformanceConfig(f *fakeAWS) map[string]any {
	return map[string]any{
		"region": "eu-west-1", "cluster": "apps", "subnets": []string{"subnet-1"},
		"log_group": "/rise/apps", "endpoint": f.URL, "domain": "apps.example.com",
	}
}

func conformanceOptions() []sdktest.Option {
	return []sdktest.Option{
		sdktest.WithProject("conformance"),
		// The ECS fake speaks the API but runs no container: nothing to reach.
		sdktest.Skip("the ECS protocol fake runs no tasks", sdktest.CheckReachable, sdktest.CheckStatusObserves),
		sdktest.WithDeployRequest(func(id string) *sdk.DeployRequest {
			req := deployReq(id)
			req.Project = "conformance"
			return req
		}),
	}
}

// TestConformance runs the SDK's runtime conformance suite in-process over
// real gRPC against the protocol fake.
func TestConformance(t *testing.T) {
	f := newFakeAWS(t)
	sdktest.RuntimeConformance(t, plugin().Components[0], conformanceConfig(f), conformanceOptions()...)
}

// TestBinary builds rise-plugin-ecs, checks `describe`, and runs the
// conformance suite against the binary launched the way rise's host does it
// (go-plugin, gRPC, AutoMTLS, explicit environment).
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	bin := filepath.Join(t.TempDir(), "rise-plugin-ecs")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}

	out, err := exec.Command(bin, "describe").Output()
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	var info sdk.PluginInfo
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("describe output %s: %v", out, err)
	}
	if info.Name != "ecs" || len(info.Components) != 1 || info.Components[0].Kind != sdk.KindRuntime {
		t.Fatalf("describe = %+v", info)
	}
	caps := info.Components[0].Capabilities
	if !slices.Contains(caps, "logs") || !slices.Contains(caps, "destroy") || !slices.Contains(caps, "rollback") {
		t.Errorf("capabilities = %q, want logs, destroy and rollback", caps)
	}

	f := newFakeAWS(t)
	conn := sdktest.LaunchBinary(t, bin, []string{"AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "HOME=" + t.TempDir()})
	sdktest.RuntimeConformanceConn(t, conn, "ecs", conformanceConfig(f), conformanceOptions()...)
}
