package deploy_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/deploy"
)

// BenchmarkDeployImage compares `rise deploy --image` to Healthy (API call,
// controller, Docker runtime, health check, then a 200 through the edge)
// with the engine's own create + start + first HTTP 200 of the same image.
// Budget: ratio ≤ 1.5.
//
//	go test -run '^$' -bench DeployImage -benchtime 5x ./server/deploy
func BenchmarkDeployImage(b *testing.B) {
	if b.N > 20 {
		b.Skipf("each iteration starts two containers; run with -benchtime Nx, N ≤ 20 (e.g. -bench DeployImage -benchtime 5x)")
	}
	e := newBenchEnv(b)
	p := e.project("public")
	ctx := context.Background()
	var engine, rise time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := "bench" + strconv.Itoa(i)
		engine += e.engineStart(b, body)

		start := time.Now()
		d, err := e.owner.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: e.image, Workload: httpd(body)})
		if err != nil {
			b.Fatal(err)
		}
		e.wait(p, d.ID, api.StateHealthy)
		if code, got, _ := e.get(p, "/", nil); code != 200 || got != body {
			b.Fatalf("edge = %d %q", code, got)
		}
		rise += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(engine.Milliseconds())/n, "engine-ms/op")
	b.ReportMetric(float64(rise.Milliseconds())/n, "rise-ms/op")
	b.ReportMetric(float64(rise)/float64(engine), "ratio")
}

// newBenchEnv is newEnv with the production polling defaults.
func newBenchEnv(b *testing.B) *env {
	return newEnv(b, func(o *deploy.Options) {
		o.DeployPoll, o.HealthInterval, o.Resync, o.DeployTimeout = 0, 0, 0, 0
	})
}

// engineStart is the baseline: create + start + poll until the first 200.
func (e *env) engineStart(b *testing.B, body string) time.Duration {
	ctx := context.Background()
	wl := httpd(body)
	start := time.Now()
	c, err := e.docker.ContainerCreate(ctx, &container.Config{Image: e.image, Cmd: wl.Command,
		ExposedPorts: nat.PortSet{"8080/tcp": {}}},
		&container.HostConfig{PortBindings: nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1"}}}}, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = e.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}) }()
	if err := e.docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		b.Fatal(err)
	}
	info, err := e.docker.ContainerInspect(ctx, c.ID)
	if err != nil {
		b.Fatal(err)
	}
	url := "http://127.0.0.1:" + info.NetworkSettings.Ports["8080/tcp"][0].HostPort + "/"
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start)
			}
		}
		if time.Since(start) > time.Minute {
			b.Fatal("engine baseline never answered 200")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkConcurrentDeployments: 200 deployments across 50 projects,
// created at once, converge (each project ends with exactly one Healthy
// active deployment and one container; no Failed). Heavy: set
// RISE_BENCH_HEAVY=1.
//
//	RISE_BENCH_HEAVY=1 go test -run '^$' -bench Concurrent -benchtime 1x ./server/deploy
func BenchmarkConcurrentDeployments(b *testing.B) {
	if os.Getenv("RISE_BENCH_HEAVY") == "" {
		b.Skip("set RISE_BENCH_HEAVY=1 to run 200 concurrent deployments")
	}
	const projects, perProject = 50, 4
	if b.N > 3 {
		b.Skipf("each iteration runs 200 containers; use -benchtime 1x")
	}
	e := newBenchEnv(b)
	ctx := context.Background()
	for range b.N {
		names := make([]string, projects)
		for i := range names {
			names[i] = e.project("public")
		}
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, projects*perProject)
		for _, p := range names {
			for j := range perProject {
				wg.Go(func() {
					_, err := e.owner.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: e.image, Workload: httpd(fmt.Sprintf("%s-%d", p, j))})
					if err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatalf("create: %v", err)
		}
		// Converged: nothing left in flight, one active per project.
		for {
			var live, active, failed int
			err := e.Store.Pool().QueryRow(ctx, `SELECT
				count(*) FILTER (WHERE state NOT IN ('Cancelled', 'Stopped', 'Superseded', 'Expired', 'Failed', 'Healthy')),
				count(*) FILTER (WHERE active AND state = 'Healthy'),
				count(*) FILTER (WHERE state = 'Failed') FROM deployments`).Scan(&live, &active, &failed)
			if err != nil {
				b.Fatal(err)
			}
			if failed > 0 {
				rows, _ := e.Store.Pool().Query(ctx, `SELECT deployment_id, message FROM deployments WHERE state = 'Failed'`)
				for rows.Next() {
					var id, msg string
					_ = rows.Scan(&id, &msg)
					b.Logf("failed %s: %s", id, msg)
				}
				rows.Close()
				b.Fatalf("%d deployments failed", failed)
			}
			if live == 0 && active == projects {
				break
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("not converged after 10m: %d in flight, %d active", live, active)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "converge-s")
		for _, p := range names {
			if n := len(e.containers(p)); n != 1 {
				b.Fatalf("project %s has %d containers", p, n)
			}
		}
	}
}
