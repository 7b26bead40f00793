package baseimage

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/realpart"
)

func TestRootfsHasShellAndUsers(t *testing.T) {
	data, err := Rootfs()
	if err != nil {
		realpart.Missing(t, "busybox-static", err)
	}
	seen := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = true
	}
	for _, want := range []string{"bin/busybox", "bin/sh", "etc/passwd", "tmp/"} {
		if !seen[want] {
			t.Errorf("rootfs lacks %s", want)
		}
	}
}

func TestEnsureIsIdempotentAndRuns(t *testing.T) {
	ref := Require(t, "docker")
	if _, err := Ensure(context.Background(), "docker"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("docker", "run", "--rm", ref, "sh", "-c", "echo hello from $(whoami)").CombinedOutput()
	if err != nil {
		t.Fatalf("run base image: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "hello from root" {
		t.Fatalf("got %q", got)
	}
}
