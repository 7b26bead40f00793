package docker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/realpart"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

// buildxCache is where a self-built buildx plugin may be kept for tests
// (the engine's Debian docker CLI has none):
//
//	GOBIN=/tmp/bx go install github.com/docker/buildx/cmd/buildx@v0.19.3
//	install -D /tmp/bx/buildx ~/.cache/rise-test/docker-buildx
const buildxCache = ".cache/rise-test/docker-buildx"

func TestBuildAndPushWithBuildx(t *testing.T) {
	if exec.Command("docker", "buildx", "version").Run() != nil {
		home, _ := os.UserHomeDir()
		plugin := filepath.Join(home, buildxCache)
		if _, err := os.Stat(plugin); err != nil {
			realpart.Missing(t, "docker buildx", fmt.Errorf("no buildx plugin installed or in ~/%s (dev/deps.sh builds it)", buildxCache))
		}
		// A private HOME whose ~/.docker/cli-plugins holds buildx: the builder
		// links it into its temporary DOCKER_CONFIG.
		fake := t.TempDir()
		if err := os.MkdirAll(filepath.Join(fake, ".docker", "cli-plugins"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(plugin, filepath.Join(fake, ".docker", "cli-plugins", "docker-buildx")); err != nil {
			t.Fatal(err)
		}
		t.Setenv("HOME", fake)
	}
	base := baseimage.Require(t, "docker")
	reg := registrytest.StartRise(t)
	creds := reg.Credentials(t, "app-x", true, 0)
	target := creds.Repository + ":v1"
	removeImage(t, "docker", target)
	ui := &recUI{}
	art, err := (&Builder{Buildx: true}).Build(context.Background(), &sdk.BuildRequest{
		Dir: appDir(t, "Dockerfile", testDockerfile), BuildArgs: map[string]string{"BASE": base},
		Target: &sdk.PushTarget{Image: target, Credentials: creds},
	}, ui)
	if err != nil {
		t.Fatalf("buildx build --push: %v\n%s", err, ui.output())
	}
	ui.hasStep(t, "Building image '"+target+"' with docker buildx build")
	resolved, err := reg.Plugin.Resolve(context.Background(), target)
	if err != nil || resolved.Digest != art.Digest {
		t.Fatalf("registry has %+v (%v), builder reported %+v", resolved, err, art)
	}
}
