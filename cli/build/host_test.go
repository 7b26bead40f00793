package build

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

// TestRunThroughPluginHost runs detection and a build+push with the builders
// out of process, through core/pluginhost, as `rise deploy` does.
func TestRunThroughPluginHost(t *testing.T) {
	base := baseimage.Require(t, "docker")
	reg := registrytest.StartRise(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var logs bytes.Buffer
	host, err := pluginhost.New(ctx, pluginhost.Options{
		Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn}), Builtins: builtins(),
		Executable: exe, PluginDirs: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	start := time.Now()
	if _, err := Choose(ctx, host.Builder, "", nil, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Logf("detect through the host: %s", time.Since(start))

	dir := writeFiles(t, map[string]string{"Dockerfile": appDockerfile, "index.html": "hello"})
	creds := reg.Credentials(t, "hosted", true, 0)
	image := creds.Repository + ":v1"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", image).Run() })
	var out bytes.Buffer
	pushed := false
	start = time.Now()
	defer func() { t.Logf("build+push through the host: %s", time.Since(start)) }()
	art, err := Run(ctx, Options{
		Dir: dir, Project: "hosted", BuildArgs: map[string]string{"BASE": base},
		Push:   &sdk.PushTarget{Image: image, Credentials: creds},
		Launch: host.Builder, OnPush: func() { pushed = true },
		Getenv: func(string) string { return "" }, Warn: &out,
	}, StreamUI(&out))
	if err != nil {
		t.Fatalf("build through the plugin host: %v\n%s\nhost log:\n%s", err, out.String(), logs.String())
	}
	if !pushed || art.Labels["rise.builder"] != "docker" {
		t.Errorf("pushed=%v artifact=%+v", pushed, art)
	}
	for _, want := range []string{"==> Building image '" + image + "' with docker build", "==> Pushing image '" + image + "'"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress from the plugin process lacks %q:\n%s", want, out.String())
		}
	}
	resolved, err := reg.Plugin.Resolve(ctx, image)
	if err != nil || resolved.Digest != art.Digest {
		t.Fatalf("registry has %+v (%v), build reported %+v", resolved, err, art)
	}
}
