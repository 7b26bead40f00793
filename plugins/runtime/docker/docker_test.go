package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/sdk"
)

// newRuntime provisions a runtime against the real engine (skipping loudly
// when there is none) and returns the local base image.
func newRuntime(t *testing.T) (*Runtime, string) {
	t.Helper()
	img := baseimage.Require(t, "docker")
	r := &Runtime{MaxRestarts: 2, StopTimeout: "1s"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, img
}

func project(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := "t" + hex.EncodeToString(b)
	t.Cleanup(func() {
		r := &Runtime{StopTimeout: "1s"}
		if r.Provision(context.Background()) == nil {
			_ = r.Destroy(context.Background(), p, nil)
			r.Close()
		}
	})
	return p
}

// httpdApp serves body at / from busybox httpd after printing a line.
func httpdApp(body string) []string {
	return []string{"/bin/sh", "-c", "mkdir -p /www && echo " + body + " > /www/index.html && echo app-started && exec /bin/busybox httpd -f -p 8080 -h /www"}
}

func waitHealth(t *testing.T, r *Runtime, d *sdk.Deployment, want sdk.Health) *sdk.Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last *sdk.Status
	for time.Now().Before(deadline) {
		st, err := r.Status(context.Background(), d)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		if st.Health == want {
			return st
		}
		last = st
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("deployment %s never became %s; last status %s: %s", d.ID, want, last.Health, last.Message)
	return nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func containersOf(t *testing.T, r *Runtime, p string) []container.Summary {
	t.Helper()
	l, err := r.cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+p))})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDeployHealthyIdempotentStop(t *testing.T) {
	r, img := newRuntime(t)
	p := project(t)
	ctx := context.Background()
	req := &sdk.DeployRequest{
		DeploymentID: "20261123-142501", Project: p,
		Artifact: sdk.Artifact{Repository: strings.Split(img, ":")[0], Tag: "busybox"},
		Workload: sdk.Workload{Port: 8080, HealthPath: "/", Command: httpdApp("hello-v1"),
			Env: map[string]string{"A": "b"}, Resources: sdk.Resources{Memory: "64Mi", CPU: "500m"}},
	}
	d, err := r.Deploy(ctx, req, nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if len(d.Upstreams) != 1 || !strings.HasPrefix(d.Upstreams[0], "http://127.0.0.1:") {
		t.Fatalf("upstreams = %v", d.Upstreams)
	}
	waitHealth(t, r, d, sdk.HealthHealthy)
	if code, body := get(t, d.Upstreams[0]+"/"); code != 200 || body != "hello-v1" {
		t.Fatalf("GET app = %d %q", code, body)
	}

	// Idempotent: a second Deploy (a retry after a crash) reuses the container.
	d2, err := r.Deploy(ctx, req, nil)
	if err != nil {
		t.Fatalf("redeploy: %v", err)
	}
	if string(d2.State) != string(d.State) {
		t.Fatalf("redeploy changed state: %s vs %s", d2.State, d.State)
	}
	cs := containersOf(t, r, p)
	if len(cs) != 1 || cs[0].Names[0] != "/rise-"+p+"-20261123-142501" {
		t.Fatalf("containers = %+v", cs)
	}
	if cs[0].Labels[LabelDeployment] != "20261123-142501" {
		t.Fatalf("labels = %v", cs[0].Labels)
	}
	info, err := r.cli.ContainerInspect(ctx, cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.HostConfig.Memory != 64<<20 || info.HostConfig.NanoCPUs != 5e8 {
		t.Fatalf("limits = %d bytes, %d nanocpus", info.HostConfig.Memory, info.HostConfig.NanoCPUs)
	}
	if !contains(info.Config.Env, "A=b") || !contains(info.Config.Env, "PORT=8080") {
		t.Fatalf("env = %v", info.Config.Env)
	}

	// Logs.
	var lines []sdk.LogLine
	err = r.Logs(ctx, d, sdk.LogOptions{Tail: 10}, func(l sdk.LogLine) error { lines = append(lines, l); return nil })
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	if len(lines) == 0 || lines[0].Text != "app-started" || lines[0].Time.IsZero() {
		t.Fatalf("logs = %+v", lines)
	}

	if err := r.Stop(ctx, d, nil); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := len(containersOf(t, r, p)); n != 0 {
		t.Fatalf("%d containers after stop", n)
	}
	if _, err := r.Status(ctx, d); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("status after stop: %v", err)
	}
	if err := r.Logs(ctx, d, sdk.LogOptions{}, func(sdk.LogLine) error { return nil }); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("logs after stop: %v, want ErrNotFound (the API answers 410)", err)
	}
	if err := r.Stop(ctx, d, nil); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestCrashingAppFails(t *testing.T) {
	r, img := newRuntime(t)
	p := project(t)
	d, err := r.Deploy(context.Background(), &sdk.DeployRequest{
		DeploymentID: "20261123-142502", Project: p,
		Artifact: sdk.Artifact{Repository: strings.Split(img, ":")[0], Tag: "busybox"},
		Workload: sdk.Workload{Port: 8080, Command: []string{"/bin/sh", "-c", "echo boom-config-missing >&2; exit 3"}},
	}, nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	st := waitHealth(t, r, d, sdk.HealthFailed)
	if !strings.Contains(st.Message, "code 3") || !strings.Contains(st.Message, "boom-config-missing") {
		t.Fatalf("failure message %q lacks exit code or output", st.Message)
	}
}

func TestUnhealthyPathAndDestroy(t *testing.T) {
	r, img := newRuntime(t)
	p := project(t)
	ctx := context.Background()
	var ds []*sdk.Deployment
	for _, id := range []string{"20261123-000001", "20261123-000002"} {
		d, err := r.Deploy(ctx, &sdk.DeployRequest{
			DeploymentID: id, Project: p,
			Artifact: sdk.Artifact{Repository: strings.Split(img, ":")[0], Tag: "busybox"},
			Workload: sdk.Workload{Port: 8080, HealthPath: "/healthz", Command: httpdApp("x")},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	// /healthz does not exist: 404 → unhealthy, with the reason.
	st := waitHealth(t, r, ds[0], sdk.HealthUnhealthy)
	if !strings.Contains(st.Message, "404") {
		t.Fatalf("message %q", st.Message)
	}
	if err := r.Destroy(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(containersOf(t, r, p)); n != 0 {
		t.Fatalf("%d containers after destroy", n)
	}
	if _, err := r.cli.NetworkInspect(ctx, NetworkName(p), network.InspectOptions{}); err == nil {
		t.Fatalf("network %s left after destroy", NetworkName(p))
	}
}

func TestMissingImageIsPermanent(t *testing.T) {
	r, _ := newRuntime(t)
	p := project(t)
	_, err := r.Deploy(context.Background(), &sdk.DeployRequest{
		DeploymentID: "20261123-000003", Project: p,
		Artifact: sdk.Artifact{Repository: "localhost/rise-does-not-exist", Tag: "nope"},
	}, nil)
	if err == nil {
		t.Fatal("deploy of a missing image succeeded")
	}
	if !strings.Contains(err.Error(), "rise-does-not-exist") {
		t.Fatalf("error %q does not name the image", err)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
