package docker_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	dockerbuilder "github.com/riseplatform/rise/plugins/builder/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// TestConformance runs the SDK's builder suite over the in-process gRPC
// harness, including a real build with the Docker Engine.
func TestConformance(t *testing.T) {
	base := baseimage.Require(t, "docker")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("ARG BASE\nFROM ${BASE}\nCMD [\"true\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("rise-conformance:%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", tag).Run() })
	sdktest.BuilderConformance(t, dockerbuilder.Component(), map[string]any{"build_args": map[string]string{"BASE": base}},
		sdktest.WithBuildDir(dir, func(dir string) *sdk.BuildRequest {
			return &sdk.BuildRequest{Project: "sdktest", Dir: dir, Image: tag}
		}),
		sdktest.WithInvalidConfig(map[string]any{"container_cli": "nerdctl"}))
}
