package deploy_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/dev/benchbudget"
	"github.com/riseplatform/rise/server/deploy"
)

// deployImagePairs is how many (engine, rise) pairs one iteration runs.
const deployImagePairs = 5

// BenchmarkDeployImage compares `rise deploy --image` to Healthy (API call,
// controller, Docker runtime, health check, then a 200 through the edge)
// with the engine's own create + start + first HTTP 200 of the same image,
// in pairs whose order alternates (engine first, then rise first, …).
// Budget: ratio ≤ 1.5 (docs/development.md).
//
//	go test -run '^$' -bench DeployImage -benchtime 1x ./server/deploy
func BenchmarkDeployImage(b *testing.B) {
	e := newBenchEnv(b)
	p := e.project("public")
	ctx := context.Background()
	var engine, rise time.Duration
	riseOnce := func(body string) {
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
	b.ResetTimer()
	for i := 0; i < b.N*deployImagePairs; i++ {
		body := "bench" + strconv.Itoa(i)
		if i%2 == 0 {
			engine += e.engineStart(b, body)
			riseOnce(body)
		} else {
			riseOnce(body)
			engine += e.engineStart(b, body)
		}
	}
	n := float64(b.N * deployImagePairs)
	b.ReportMetric(float64(engine.Milliseconds())/n, "engine-ms/op")
	b.ReportMetric(float64(rise.Milliseconds())/n, "rise-ms/op")
	benchbudget.Report(b, float64(rise)/float64(engine), 1.5)
}

// newBenchEnv is newEnv with the production polling defaults.
func newBenchEnv(b *testing.B) *env {
	return newEnv(b, func(o *deploy.Options) {
		o.DeployPoll, o.HealthInterval, o.Resync, o.DeployTimeout = 0, 0, 0, 0
	})
}

// engineStart is the baseline: create + start + poll until the first 200.
func (e *env) engineStart(b *testing.B, body string) time.Duration {
	d, err := e.engineStartErr(body, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// engineStartErr is engineStart for any goroutine: it returns the error.
func (e *env) engineStartErr(body string, timeout time.Duration) (time.Duration, error) {
	ctx := context.Background()
	wl := httpd(body)
	start := time.Now()
	c, err := e.docker.ContainerCreate(ctx, &container.Config{Image: e.image, Cmd: wl.Command,
		ExposedPorts: nat.PortSet{"8080/tcp": {}}},
		&container.HostConfig{PortBindings: nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1"}}}}, nil, nil, "")
	if err != nil {
		return 0, err
	}
	defer func() { _ = e.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}) }()
	if err := e.docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return 0, err
	}
	info, err := e.docker.ContainerInspect(ctx, c.ID)
	if err != nil {
		return 0, err
	}
	url := "http://127.0.0.1:" + info.NetworkSettings.Ports["8080/tcp"][0].HostPort + "/"
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), nil
			}
		}
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("engine baseline never answered 200 within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkConcurrentDeployments: deployments across several projects,
// created at once, converge (each project ends with exactly one Healthy
// active deployment and one container; no Failed). The reference is the
// engine starting the same number of containers at once (create, start,
// first 200, remove). Rounds alternate which side goes first. Budget: ratio
// ≤ 1.5 (docs/development.md).
//
//	go test -run '^$' -bench Concurrent -benchtime 1x ./server/deploy
func BenchmarkConcurrentDeployments(b *testing.B) {
	const rounds, projects, perProject = 2, 10, 4
	e := newBenchEnv(b)
	ctx := context.Background()
	var riseTotal, engineTotal time.Duration
	for r := range b.N * rounds {
		names := make([]string, projects)
		for i := range names {
			names[i] = e.project("public")
		}
		if r%2 == 0 {
			engineTotal += e.engineConcurrent(b, projects*perProject)
			riseTotal += e.converge(b, ctx, names, perProject)
		} else {
			riseTotal += e.converge(b, ctx, names, perProject)
			engineTotal += e.engineConcurrent(b, projects*perProject)
		}
		for _, p := range names {
			if n := len(e.containers(p)); n != 1 {
				b.Fatalf("project %s has %d containers", p, n)
			}
		}
	}
	b.ReportMetric(riseTotal.Seconds()/float64(b.N*rounds), "converge-s/round")
	b.ReportMetric(engineTotal.Seconds()/float64(b.N*rounds), "engine-s/round")
	benchbudget.Report(b, float64(riseTotal)/float64(engineTotal), 1.5)
}

// engineConcurrent starts n containers at once with the engine alone.
func (e *env) engineConcurrent(b *testing.B, n int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := e.engineStartErr(fmt.Sprintf("engine-%d", i), 5*time.Minute); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return time.Since(start)
}

// converge creates perProject deployments in each project at once and
// waits until nothing is in flight and each project has one active.
func (e *env) converge(b *testing.B, ctx context.Context, names []string, perProject int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(names)*perProject)
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
		// Projects of earlier rounds keep their one active deployment.
		var want int
		if err := e.Store.Pool().QueryRow(ctx, `SELECT count(DISTINCT project_id) FROM deployments`).Scan(&want); err != nil {
			b.Fatal(err)
		}
		if live == 0 && active == want {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("not converged after 10m: %d in flight, %d active of %d", live, active, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
