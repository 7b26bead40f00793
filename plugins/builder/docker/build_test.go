package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

const testDockerfile = `ARG BASE=localhost/rise-base:busybox
FROM ${BASE}
ARG GREETING=hello
RUN echo "$GREETING" > /greeting
CMD ["cat", "/greeting"]
`

func appDir(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func removeImage(t *testing.T, cli string, refs ...string) {
	t.Cleanup(func() { _ = exec.Command(cli, append([]string{"rmi", "-f"}, refs...)...).Run() })
}

func TestDetect(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"Dockerfile", "Containerfile"} {
		d, err := new(Builder).Detect(ctx, appDir(t, name, "FROM scratch\n"))
		if err != nil || !d.OK || !strings.Contains(d.Reason, name) {
			t.Errorf("%s: %+v %v", name, d, err)
		}
	}
	d, _ := new(Builder).Detect(ctx, appDir(t, "main.go", "package main\n"))
	if d.OK {
		t.Errorf("Go app detected as docker: %+v", d)
	}
	d, _ = (&Builder{Dockerfile: "build/App.dockerfile"}).Detect(ctx, appDir(t, "Dockerfile", ""))
	if d.OK {
		t.Errorf("configured dockerfile missing but detected: %+v", d)
	}
	_, err := new(Builder).Build(ctx, &sdk.BuildRequest{Dir: t.TempDir(), Image: "x:1"}, &recUI{})
	if err == nil || !strings.Contains(err.Error(), "no Dockerfile or Containerfile") || !sdk.IsPermanent(err) {
		t.Errorf("build without Dockerfile: %v", err)
	}
}

func TestBuildLocalWithDocker(t *testing.T) {
	base := baseimage.Require(t, "docker")
	dir := appDir(t, "Dockerfile", testDockerfile)
	tag := fmt.Sprintf("rise-test-local:%d", time.Now().UnixNano())
	removeImage(t, "docker", tag)
	ui := &recUI{}
	art, err := (&Builder{BuildArgs: map[string]string{"GREETING": "from config"}}).Build(context.Background(), &sdk.BuildRequest{
		Dir: dir, Image: tag, BuildArgs: map[string]string{"BASE": base},
	}, ui)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, ui.output())
	}
	if !art.Local || art.Digest != "" || art.Repository != "rise-test-local" {
		t.Fatalf("artifact = %+v", art)
	}
	ui.hasStep(t, "Building image '"+tag+"' with docker build")
	if !strings.Contains(ui.output(), tag) { // "Successfully tagged <tag>" or BuildKit's "naming to .../<tag>"
		t.Errorf("tool output not streamed:\n%s", ui.output())
	}
	out, err := exec.Command("docker", "run", "--rm", tag).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "from config" {
		t.Fatalf("run built image: %v: %q", err, out)
	}
}

func TestBuildAndPushWithDocker(t *testing.T) {
	base := baseimage.Require(t, "docker")
	reg := registrytest.StartRise(t)
	creds := reg.Credentials(t, "app-a", true, 0)
	dir := appDir(t, "Dockerfile", testDockerfile)
	target := creds.Repository + ":v1"
	removeImage(t, "docker", "app-a:dev", target)
	home := t.TempDir()
	t.Setenv("HOME", home) // prove the user's ~/.docker is not touched

	ui := &recUI{}
	art, err := new(Builder).Build(context.Background(), &sdk.BuildRequest{
		Project: "app-a", Dir: dir, Image: "app-a:dev", BuildArgs: map[string]string{"BASE": base},
		Target: &sdk.PushTarget{Image: target, Credentials: creds},
	}, ui)
	if err != nil {
		t.Fatalf("build+push: %v\n%s\nregistry:\n%s", err, ui.output(), reg.Logs())
	}
	if art.Local || art.Repository != creds.Repository || art.Tag != "v1" || !strings.HasPrefix(art.Digest, "sha256:") {
		t.Fatalf("artifact = %+v", art)
	}
	ui.hasStep(t, "Pushing image '"+target+"'")
	resolved, err := reg.Plugin.Resolve(context.Background(), target)
	if err != nil || resolved.Digest != art.Digest {
		t.Fatalf("registry has %+v (%v), builder reported %s", resolved, err, art.Digest)
	}
	if _, err := os.Stat(filepath.Join(home, ".docker")); err == nil {
		t.Error("build wrote to ~/.docker")
	}

	// The same credentials cannot push another project's image.
	other := reg.Addr + "/rise/app-b:v1"
	removeImage(t, "docker", other)
	_, err = new(Builder).Build(context.Background(), &sdk.BuildRequest{
		Dir: dir, Image: other, BuildArgs: map[string]string{"BASE": base},
		Target: &sdk.PushTarget{Image: other, Credentials: creds},
	}, &recUI{})
	if err == nil || !strings.Contains(err.Error(), "push failed") {
		t.Fatalf("push to project B with A's credentials: %v", err)
	}
}

func TestBuildCancellationStopsTool(t *testing.T) {
	base := baseimage.Require(t, "docker")
	dir := appDir(t, "Dockerfile", "ARG BASE\nFROM ${BASE}\nARG NONCE\nRUN echo STARTED-$NONCE && sleep 120\n")
	tag := fmt.Sprintf("rise-test-cancel:%d", time.Now().UnixNano())
	removeImage(t, "docker", tag)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ui := &recUI{onOutput: func(s string) {
		if strings.Contains(s, "STARTED-") {
			cancel()
		}
	}}
	start := time.Now()
	_, err := new(Builder).Build(ctx, &sdk.BuildRequest{Dir: dir, Image: tag, NoCache: true,
		BuildArgs: map[string]string{"BASE": base, "NONCE": tag}}, ui)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled\n%s", err, ui.output())
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Fatalf("cancel took %s", d)
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

// TestFailedBuildLeavesNoContainer: a build whose RUN step fails leaves no
// container behind on the user's engine (the classic builder keeps the
// failed step's container unless told --force-rm).
func TestFailedBuildLeavesNoContainer(t *testing.T) {
	base := baseimage.Require(t, "docker")
	marker := fmt.Sprintf("rise-failed-build-%d", time.Now().UnixNano())
	dir := appDir(t, "Dockerfile", "ARG BASE\nFROM ${BASE}\nRUN echo "+marker+" && exit 3\n")
	tag := "rise-test-failed:" + marker[len("rise-failed-build-"):]
	removeImage(t, "docker", tag)
	ui := &recUI{}
	_, err := new(Builder).Build(context.Background(), &sdk.BuildRequest{Dir: dir, Image: tag, NoCache: true,
		BuildArgs: map[string]string{"BASE": base}}, ui)
	if err == nil || !strings.Contains(ui.output(), marker) {
		t.Fatalf("build with a failing RUN: err %v\n%s", err, ui.output())
	}
	out, err := exec.Command("docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Status}} {{.Command}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, marker) {
			id, _, _ := strings.Cut(l, " ")
			_ = exec.Command("docker", "rm", "-f", id).Run()
			t.Errorf("the failed build left a container: %s", l)
		}
	}
}
