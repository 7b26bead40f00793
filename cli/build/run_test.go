package build

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
)

const appDockerfile = `ARG BASE=localhost/rise-base:busybox
FROM ${BASE}
COPY index.html /var/www/index.html
CMD ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
`

// TestDeployFuncPushesWithServerCredentials is `rise deploy`'s build step
// against the real Docker Engine and a real registry with rise's token auth.
func TestDeployFuncPushesWithServerCredentials(t *testing.T) {
	base := baseimage.Require(t, "docker")
	reg := registrytest.StartRise(t)
	dir := writeFiles(t, map[string]string{
		"Dockerfile": appDockerfile, "index.html": "hello",
		"rise.hcl": "project = \"secret-app\"\nbuild \"docker\" {\n  build_args = { BASE = \"" + base + "\" }\n}\n",
	})
	c := reg.Credentials(t, "secret-app", true, 0)
	image := c.Repository + ":20261123-142501"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", image).Run() })
	var method string
	pushed := false
	var launched []string
	res, err := DeployFunc(inProcess(&launched))(context.Background(), clictx.BuildRequest{
		Dir: dir, Image: image,
		Credentials: &api.RegistryCredentials{Registry: c.Registry, Repository: c.Repository, Username: c.Username, Password: c.Password, ExpiresAt: c.ExpiresAt},
		Building:    func(m string) { method = m },
		Pushing:     func() { pushed = true },
	})
	if err != nil {
		t.Fatalf("build+push: %v\nregistry:\n%s", err, reg.Logs())
	}
	if method != "Dockerfile" || !pushed {
		t.Errorf("callbacks: method=%q pushed=%v", method, pushed)
	}
	art, err := reg.Plugin.Resolve(context.Background(), image)
	if err != nil || art.Digest != res.Digest {
		t.Fatalf("registry has %+v (%v), build reported %+v", art, err, res)
	}
	if len(launched) != 1 || !strings.HasPrefix(launched[0], `docker {"build_args":{"BASE":`) {
		t.Errorf("launched %q (rise.hcl config must reach the plugin, no detection)", launched)
	}
}

func TestBuildCommandLocal(t *testing.T) {
	base := baseimage.Require(t, "docker")
	dir := writeFiles(t, map[string]string{"Dockerfile": appDockerfile, "index.html": "hi"})
	tag := fmt.Sprintf("rise-build-cmd:%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", tag).Run() })
	cmd := NewCommand(inProcess(nil))
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{tag, dir, "--build-arg", "BASE=" + base, "--no-cache"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("rise build: %v\n%s", err, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != tag {
		t.Errorf("stdout = %q, want the image %q", got, tag)
	}
	for _, want := range []string{"Building with Dockerfile (auto-detected (found Dockerfile))", "==> Building image '" + tag + "' with docker build"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if err := exec.Command("docker", "image", "inspect", tag).Run(); err != nil {
		t.Errorf("image %s not in the engine", tag)
	}
}

func TestBuildCommandErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.go": "package main"})
	t.Setenv("PATH", t.TempDir()) // no pack anywhere
	for args, want := range map[string]string{
		"app:1 " + dir:                     "`pack` was not found on PATH",
		"app:1 " + dir + " --push":         "--push needs a TAG naming a registry",
		"app:1 " + dir + " --build-arg X":  "expected KEY=VALUE",
		"app:1 " + dir + " --backend p@ck": "is not a build backend",
		"app:1 " + dir + " --dockerfile D": "--dockerfile only applies to the docker builder",
	} {
		cmd := NewCommand(inProcess(nil))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(strings.Fields(args))
		err := cmd.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rise build %s: %v, want %q", args, err, want)
		}
	}
}
