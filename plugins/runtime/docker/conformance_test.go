package docker

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// appImage builds the conformance kit's test workload into a local image on
// the base image (nothing is pulled) and removes it when the test ends.
func appImage(t *testing.T) (repo, tag string) {
	t.Helper()
	base := baseimage.Require(t, "docker")
	dir := t.TempDir()
	bin := sdktest.AppBinary(t)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sdktest-app"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	df := "FROM " + base + "\nCOPY sdktest-app /sdktest-app\nCMD [\"/sdktest-app\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	r := make([]byte, 4)
	_, _ = rand.Read(r)
	repo, tag = "localhost/rise-sdktest-app", hex.EncodeToString(r)
	if out, err := exec.Command("docker", "build", "-q", "-t", repo+":"+tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", repo+":"+tag).Run() })
	return repo, tag
}

func TestRuntimeConformance(t *testing.T) {
	repo, tag := appImage(t)
	p := project(t)
	sdktest.RuntimeConformance(t, Component(), map[string]any{"stop_timeout": "1s"},
		sdktest.WithProject(p),
		sdktest.WithTimeout(60*time.Second),
		sdktest.WithDeployRequest(func(id string) *sdk.DeployRequest {
			return &sdk.DeployRequest{DeploymentID: id, Project: p, Group: "default", Visibility: "public",
				Artifact: sdk.Artifact{Repository: repo, Tag: tag, Local: true},
				Workload: sdk.Workload{Port: 8080, Replicas: 1, HealthPath: "/healthz"}}
		}))
}
