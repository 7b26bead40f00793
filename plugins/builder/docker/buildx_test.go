package docker

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

func TestBuildAndPushWithBuildx(t *testing.T) {
	if out, err := exec.Command("docker", "buildx", "version").CombinedOutput(); err != nil {
		t.Skipf("SKIPPING buildx test: the docker buildx plugin is not installed (%s)", strings.TrimSpace(string(out)))
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
