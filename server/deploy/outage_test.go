package deploy_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/servertest"
	"github.com/riseplatform/rise/server/store"
)

// gatedRuntime is the memory runtime whose deployments report Pending until
// the gate opens.
type gatedRuntime struct {
	sdk.Runtime
	open atomic.Bool
}

func (g *gatedRuntime) Status(ctx context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	st, err := g.Runtime.Status(ctx, d)
	if err == nil && !g.open.Load() {
		st = &sdk.Status{Health: sdk.HealthPending, Message: "starting"}
	}
	return st, err
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDatabaseOutage stops PostgreSQL under a running server with a
// deployment in flight: the API answers 503 with Retry-After (never 500),
// liveness stays up, readiness goes down, the controller pauses; after
// PostgreSQL returns the API recovers within 5 s and the deployment reaches
// Healthy.
func TestDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Own(t)
	url, err := pg.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	mem := sdktest.MemoryRuntime().New().(sdk.Runtime)
	if err := mem.(sdk.Provisioner).Provision(ctx); err != nil {
		t.Fatal(err)
	}
	rt := &gatedRuntime{Runtime: mem}
	logs := &lockedBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	svc, err := deploy.New(options(deploy.Options{Store: st, Log: log,
		Runtime: func(context.Context) (sdk.Runtime, error) { return rt, nil }}))
	if err != nil {
		t.Fatal(err)
	}
	auth := &servertest.TokenAuth{}
	srv, err := server.New(&config.Server{Domain: "rise.test", AppScheme: "https"},
		server.Deps{Store: st, Auth: auth, Log: hclog.NewNullLogger(), Mounts: []server.Mount{svc}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = svc.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	u, err := st.UpsertUser(ctx, "owner@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	auth.Add("tok", &identity.Identity{UserID: u.ID, Email: u.Email, Name: u.Name})
	c := api.NewClient(hs.URL, "tok")
	if _, err := c.CreateProject(ctx, api.CreateProjectRequest{Name: "outage"}); err != nil {
		t.Fatal(err)
	}
	d, err := c.CreateDeployment(ctx, "outage", &api.CreateDeploymentRequest{Image: "registry.test/outage:v1"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for d.State != api.StateDeploying {
		if d, err = c.WaitDeployment(wctx, "outage", d.ID, d.Version); err != nil {
			t.Fatalf("waiting for Deploying: %v", err)
		}
	}

	get := func(path string) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String(), resp.Header
	}
	deployment := "/api/v1/projects/outage/deployments/" + d.ID

	pg.Halt()
	down := time.Now()
	for _, path := range []string{deployment, "/api/v1/projects/outage", "/api/v1/projects", "/api/v1/projects/outage/deployments"} {
		code, body, hdr := get(path)
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "database") {
			t.Fatalf("GET %s during the outage: %d Retry-After=%q %s", path, code, hdr.Get("Retry-After"), body)
		}
	}
	if _, err := c.CreateDeployment(ctx, "outage", &api.CreateDeploymentRequest{Image: "registry.test/outage:v2"}); api.StatusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("create during the outage: %v (status %d)", err, api.StatusOf(err))
	}
	if code, _, _ := get("/api/v1/health"); code != http.StatusOK {
		t.Fatalf("liveness during the outage: %d", code)
	}
	if code, _, hdr := get("/api/v1/ready"); code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("readiness during the outage: %d", code)
	}
	eventually(t, "controller pauses", func() bool { return strings.Contains(logs.String(), "controller paused") })
	rt.open.Store(true)                          // the app turns healthy while nobody can write it down
	time.Sleep(3*time.Second - time.Since(down)) // longer than the lease renewal allows (LeaseTTL 2s)

	if err := pg.Resume(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for {
		code, body, _ := get(deployment)
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("GET after PostgreSQL returned: %d %s", code, body)
		}
		if time.Since(back) > 5*time.Second {
			t.Fatalf("API still %d %s 5s after PostgreSQL returned", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("API recovered %s after PostgreSQL returned", time.Since(back).Round(time.Millisecond))
	if code, _, _ := get("/api/v1/ready"); code != http.StatusOK {
		t.Fatalf("readiness after the outage: %d", code)
	}

	// Nothing lost: the in-flight deployment completes, the failed create
	// left nothing behind.
	d, err = c.GetDeployment(ctx, "outage", d.ID)
	for err == nil && d.State != api.StateHealthy && !d.Terminal() {
		d, err = c.WaitDeployment(wctx, "outage", d.ID, d.Version)
	}
	if err != nil || d.State != api.StateHealthy || !d.Active {
		t.Fatalf("in-flight deployment after the outage: %+v, %v", d, err)
	}
	t.Logf("deployment Healthy %s after PostgreSQL returned", time.Since(back).Round(time.Millisecond))
	if time.Since(back) > 5*time.Second {
		t.Errorf("controller took %s to resume", time.Since(back))
	}
	list, err := c.ListDeployments(ctx, "outage", "", 0, "")
	if err != nil || len(list.Deployments) != 1 {
		t.Fatalf("deployments after the outage: %+v, %v", list, err)
	}
	if testing.Verbose() {
		t.Log(logs.String())
	}
	if !strings.Contains(logs.String(), "controller resumed") {
		t.Errorf("controller did not log its resumption:\n%s", logs.String())
	}
}
