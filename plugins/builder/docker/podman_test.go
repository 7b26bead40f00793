package docker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/realpart"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

// podmanConf works on these machines (crun and the default nofile ulimit fail
// here; see ENVIRONMENT.md).
const podmanConf = `[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`

func TestBuildAndPushWithPodman(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		realpart.Missing(t, "Podman", fmt.Errorf("not installed (apt-get install -y podman runc; dev/deps.sh does): %w", err))
	}
	if os.Getenv("CONTAINERS_CONF") == "" {
		conf := filepath.Join(t.TempDir(), "containers.conf")
		if err := os.WriteFile(conf, []byte(podmanConf), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("CONTAINERS_CONF", conf)
	}
	base := baseimage.Require(t, "podman")
	reg := registrytest.StartRise(t)
	creds := reg.Credentials(t, "app-p", true, 0)
	target := creds.Repository + ":v1"
	removeImage(t, "podman", "app-p:dev", target)
	ui := &recUI{}
	art, err := (&Builder{ContainerCLI: "podman"}).Build(context.Background(), &sdk.BuildRequest{
		Dir: appDir(t, "Containerfile", testDockerfile), Image: "app-p:dev",
		BuildArgs: map[string]string{"BASE": base},
		Target:    &sdk.PushTarget{Image: target, Credentials: creds},
	}, ui)
	if err != nil {
		t.Fatalf("podman build+push: %v\n%s", err, ui.output())
	}
	ui.hasStep(t, "Building image 'app-p:dev' with podman build")
	resolved, err := reg.Plugin.Resolve(context.Background(), target)
	if err != nil || resolved.Digest != art.Digest || !strings.HasPrefix(art.Digest, "sha256:") {
		t.Fatalf("registry has %+v (%v), builder reported %+v", resolved, err, art)
	}
}
