package deploy_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/deploy"
)

// crashAfterDeploy is a runtime that, on its first Deploy, lets the real
// runtime create and start the container and then "kills" the server before
// the controller can record anything.
type crashAfterDeploy struct {
	*docker.Runtime
	once  sync.Once
	crash func()
}

func (c *crashAfterDeploy) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	d, err := c.Runtime.Deploy(ctx, req, ui)
	crashed := false
	c.once.Do(func() { c.crash(); crashed = true })
	if crashed {
		return nil, context.Canceled
	}
	return d, err
}

func TestControllerRestartMidDeploying(t *testing.T) {
	var e *env
	wrapper := &crashAfterDeploy{}
	e = newEnv(t, func(o *deploy.Options) {
		o.Runtime = func(context.Context) (sdk.Runtime, error) { return wrapper, nil }
		// The API below is served by the crashed service, whose change
		// listener died with it: keep its long polls short.
		o.WaitTimeout = 500 * time.Millisecond
	})
	wrapper.Runtime = e.rt
	crashed := make(chan struct{})
	wrapper.crash = func() { e.stop(); close(crashed) }
	p := e.project("public")
	d := e.deploy(p, httpd("survivor"))
	<-crashed
	// The controller died after the container started but before it saved
	// the runtime handle; its lease is still held (as after kill -9).
	before := e.containers(p)
	if len(before) != 1 {
		t.Fatalf("%d containers after the crash, want 1", len(before))
	}
	got, err := e.owner.Client.GetDeployment(context.Background(), p, d.ID)
	if err != nil || got.State != api.StateDeploying {
		t.Fatalf("after crash: %+v, %v", got, err)
	}
	if _, err := e.Store.Pool().Exec(context.Background(), `INSERT INTO controller_leases (name, holder, expires_at)
		VALUES ('deployments', 'killed-replica', now() + interval '1 second')
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at`); err != nil {
		t.Fatal(err)
	}

	// A new server process takes over once the lease runs out.
	svc2, err := deploy.New(options(deploy.Options{Store: e.Store, Holder: "replica-2",
		Runtime: func(context.Context) (sdk.Runtime, error) { return e.rt, nil }}))
	if err != nil {
		t.Fatal(err)
	}
	e.run(svc2)
	e.wait(p, d.ID, api.StateHealthy)
	after := e.containers(p)
	if len(after) != 1 || after[0].ID != before[0].ID {
		t.Fatalf("containers after restart = %d (want the original one only)", len(after))
	}
	var holder string
	if err := e.Store.Pool().QueryRow(context.Background(), `SELECT holder FROM controller_leases WHERE name = 'deployments'`).Scan(&holder); err != nil || holder != "replica-2" {
		t.Fatalf("lease holder = %q, %v", holder, err)
	}
}

func TestPrivateProjectThroughEdge(t *testing.T) {
	e := newEnv(t, nil)
	p := e.project("private")
	d := e.deploy(p, httpd("secret"))
	e.wait(p, d.ID, api.StateHealthy)

	code, _, h := e.get(p, "/page?x=1", map[string]string{"Accept": "text/html,application/xhtml+xml"})
	want := "http://rise.test/auth/login?rd=" + url.QueryEscape("http://"+p+"."+appsDomain+"/page?x=1")
	if code != 302 || h.Get("Location") != want {
		t.Fatalf("browser without session: %d Location %q, want 302 %q", code, h.Get("Location"), want)
	}
	if code, _, h := e.get(p, "/", nil); code != 401 || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("API client without credentials: %d", code)
	}
	if code, body, _ := e.get(p, "/", map[string]string{"Authorization": "Bearer " + e.owner.Token}); code != 200 || body != "secret" {
		t.Fatalf("owner with token: %d %q", code, body)
	}
	if code, body, _ := e.get(p, "/", map[string]string{"Cookie": "rise_session=" + e.owner.Token}); code != 200 || body != "secret" {
		t.Fatalf("owner with session cookie: %d %q", code, body)
	}
	other := e.User(t, "stranger@example.com", false)
	e.tokens.Store(other.Token, other.Identity)
	if code, _, _ := e.get(p, "/", map[string]string{"Authorization": "Bearer " + other.Token}); code != 404 {
		t.Fatalf("user without access: %d, want 404", code)
	}
	if code, _, _ := e.get("no-such-app", "/", nil); code != 404 {
		t.Fatalf("unknown project: %d", code)
	}
}

func TestProjectDeletionCleansUp(t *testing.T) {
	var mu sync.Mutex
	var cleaned []string
	e := newEnv(t, func(o *deploy.Options) {
		o.CleanupProject = func(_ context.Context, project string) error {
			mu.Lock()
			cleaned = append(cleaned, project)
			mu.Unlock()
			return nil
		}
	})
	ctx := context.Background()
	p := e.project("public")
	e.wait(p, e.deploy(p, httpd("doomed")).ID, api.StateHealthy)
	if err := e.owner.Client.DeleteProject(ctx, p); err != nil {
		t.Fatalf("delete: %v", err)
	}
	eventually(t, "project row removed", func() bool {
		_, err := e.owner.Client.GetProject(ctx, p)
		return api.StatusOf(err) == 404
	})
	if n := len(e.containers(p)); n != 0 {
		t.Fatalf("%d containers left after deletion", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cleaned) != 1 || cleaned[0] != p {
		t.Fatalf("registry cleanup calls = %v", cleaned)
	}
	var n int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM deployments`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d deployment rows left, %v", n, err)
	}
}

func TestTimeouts(t *testing.T) {
	e := newEnv(t, func(o *deploy.Options) {
		o.BuildTimeout = 500 * time.Millisecond
		o.DeployTimeout = 3 * time.Second
	})
	ctx := context.Background()
	p := e.project("public")
	c := e.owner.Client

	// The CLI disappears mid-build.
	d, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d = e.wait(p, d.ID, api.StateFailed); !strings.Contains(d.Message, "No build or push progress") {
		t.Fatalf("build timeout message %q", d.Message)
	}

	// The app never passes its health check.
	wl := httpd("x")
	wl.HealthPath = "/healthz"
	if d = e.wait(p, e.deploy(p, wl).ID, api.StateFailed); !strings.Contains(d.Message, "did not become healthy within 3s") || !strings.Contains(d.Message, "404") {
		t.Fatalf("deploy timeout message %q", d.Message)
	}
	eventually(t, "unhealthy container removed", func() bool { return len(e.containers(p)) == 0 })
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p := e.project("public")
	c := e.owner.Client
	d, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: e.image, Workload: httpd("tmp"), Expire: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	d = e.wait(p, d.ID, api.StateHealthy)
	if d.ExpiresAt == nil || time.Until(*d.ExpiresAt) < 59*time.Minute {
		t.Fatalf("expires_at = %v", d.ExpiresAt)
	}
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE deployments SET expires_at = now() WHERE deployment_id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	e.wait(p, d.ID, api.StateExpired)
	if _, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Expire: "5s"}); api.StatusOf(err) != 400 {
		t.Fatalf("too short expiry: %v", err)
	}
}
