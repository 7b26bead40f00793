package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	coredeploy "github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/edge"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/servertest"
)

func TestMain(m *testing.M) {
	if db := os.Getenv(childEnv); db != "" {
		runChild(db) // a server process for TestKill9MidDeploying; never returns
	}
	pgtest.Main(m)
}

const appsDomain = "apps.test"

// env is a rise server (real PostgreSQL) with the deployments service, its
// controller, the edge router and the real Docker runtime.
type env struct {
	*servertest.Env
	t      testing.TB
	svc    *deploy.Service
	rt     *docker.Runtime
	image  string
	owner  *servertest.Caller
	edge   *httptest.Server
	routes *edge.Table // the edge's route table
	tokens sync.Map    // bearer token → *identity.Identity, for the edge
	docker *client.Client
	stop   context.CancelFunc // stops svc

	projects []string // created by project(); their containers go at the end
}

func options(st deploy.Options) deploy.Options {
	st.DeployPoll = 100 * time.Millisecond
	st.HealthInterval = 300 * time.Millisecond
	st.LeaseTTL = 2 * time.Second
	st.Resync = 5 * time.Second
	st.DeployTimeout = 30 * time.Second
	st.AppURL = func(p string) string { return "https://" + p + "." + appsDomain }
	return st
}

func newEnv(t testing.TB, mut func(*deploy.Options)) *env {
	t.Helper()
	return newEnvWith(t, mut, true)
}

// newEnvWith is newEnv; with run false the service's listener and
// controller are not started (call e.run(e.svc) later).
func newEnvWith(t testing.TB, mut func(*deploy.Options), run bool) *env {
	t.Helper()
	img := baseimage.Require(t, "docker")
	rt := &docker.Runtime{StopTimeout: "1s", MaxRestarts: 2}
	if err := rt.Provision(context.Background()); err != nil {
		t.Fatalf("docker runtime: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	e := &env{t: t, rt: rt, image: img}
	e.Env = servertest.New(t, func(_ *config.Server, deps *server.Deps) {
		o := options(deploy.Options{Store: deps.Store, Runtime: func(context.Context) (sdk.Runtime, error) { return rt, nil }})
		if mut != nil {
			mut(&o)
		}
		svc, err := deploy.New(o)
		if err != nil {
			t.Fatal(err)
		}
		e.svc = svc
		deps.Mounts = append(deps.Mounts, svc)
		if m, ok := o.Variables.(server.Mount); ok { // the variables API, when the test has one
			deps.Mounts = append(deps.Mounts, m)
		}
	})
	// Runs after every service has stopped (cleanups run last-in first-out).
	t.Cleanup(func() {
		for _, p := range e.projects {
			_ = e.rt.Destroy(context.Background(), p, nil)
		}
	})
	if run {
		e.stop = e.run(e.svc)
	}
	e.owner = e.User(t, "owner@example.com", false)
	e.tokens.Store(e.owner.Token, e.owner.Identity)
	// The edge routes from the same in-memory table as rise server's,
	// kept current by the rise_routes notifications.
	tctx, stopTable := context.WithCancel(context.Background())
	table, err := edge.NewTable(tctx, edge.TableOptions{Pool: e.Store.Pool(), Resync: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tableDone := make(chan struct{})
	go func() { defer close(tableDone); _ = table.Run(tctx) }()
	t.Cleanup(func() { stopTable(); <-tableDone })
	e.routes = table
	h, err := edge.New(edge.Options{
		Domain: appsDomain, PublicURL: "http://rise.test", Lookup: table.Lookup, CanAccess: table.CanAccess,
		Identity: func(r *http.Request) (*identity.Identity, error) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if c, err := r.Cookie("rise_session"); err == nil {
				tok = c.Value
			}
			if id, ok := e.tokens.Load(tok); ok {
				return id.(*identity.Identity), nil
			}
			return nil, nil
		},
		IdentityCookie: "rise_session",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.edge = httptest.NewServer(h)
	t.Cleanup(e.edge.Close)
	e.docker, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.docker.Close() })
	return e
}

// run runs a service (listener + controller) until the test ends.
func (e *env) run(svc *deploy.Service) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return cancel
}

// project creates a project with a random name; its containers are removed
// when the test ends.
func (e *env) project(visibility string) string {
	e.t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "app-" + hex.EncodeToString(b)
	if _, err := e.owner.Client.CreateProject(context.Background(), api.CreateProjectRequest{Name: name, Visibility: visibility}); err != nil {
		e.t.Fatalf("create project: %v", err)
	}
	e.projects = append(e.projects, name)
	return name
}

// httpd is a workload serving body at / with busybox httpd.
func httpd(body string) *api.Workload {
	return &api.Workload{Port: 8080, HealthPath: "/", Command: []string{"/bin/sh", "-c",
		"mkdir -p /www && echo " + body + " > /www/index.html && echo app-started && exec /bin/busybox httpd -f -p 8080 -h /www"}}
}

func (e *env) deploy(project string, wl *api.Workload) *api.Deployment {
	e.t.Helper()
	d, err := e.owner.Client.CreateDeployment(context.Background(), project, &api.CreateDeploymentRequest{Image: e.image, Workload: wl})
	if err != nil {
		e.t.Fatalf("create deployment: %v", err)
	}
	return d
}

// wait follows a deployment with long polls until it is in one of want.
func (e *env) wait(project, id string, want ...coredeploy.State) *api.Deployment {
	e.t.Helper()
	return e.waitBy(e.owner.Client, project, id, want...)
}

// waitBy is wait as the caller of client c.
func (e *env) waitBy(c *api.Client, project, id string, want ...coredeploy.State) *api.Deployment {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d, err := c.GetDeployment(ctx, project, id)
	for err == nil {
		for _, w := range want {
			if d.State == w {
				return d
			}
		}
		if d.Terminal() {
			e.t.Fatalf("deployment %s ended %s (%s), want %v", id, d.State, d.Message, want)
		}
		d, err = c.WaitDeployment(ctx, project, id, d.Version)
	}
	e.t.Fatalf("waiting for %s to become %v: %v (last %+v)", id, want, err, d)
	return nil
}

// get requests path of project's app through the edge router.
func (e *env) get(project, path string, hdr map[string]string) (int, string, http.Header) {
	e.t.Helper()
	e.settle(project)
	req, _ := http.NewRequest(http.MethodGet, e.edge.URL+path, nil)
	req.Host = project + "." + appsDomain
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s via edge: %v", req.Host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

// settle waits until the edge's route table (kept current by
// notifications, so a few milliseconds behind) shows project as the
// database does: its visibility and the active deployment of its default
// group. Tests then check the edge against a settled state.
func (e *env) settle(project string) {
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var private, exists bool
		var active string
		err := e.Store.Pool().QueryRow(ctx, `SELECT p.visibility = 'private', coalesce(d.deployment_id, '')
			FROM projects p LEFT JOIN deployments d ON d.project_id = p.id AND d.active AND d.deployment_group = 'default'
			WHERE p.name = $1 AND p.status <> 'deleting'`, project).Scan(&private, &active)
		if err == nil {
			exists = true
		} else if !errors.Is(err, pgx.ErrNoRows) {
			e.t.Fatalf("settle %s: %v", project, err)
		}
		r, lerr := e.routes.Lookup(ctx, project)
		switch {
		case !exists && errors.Is(lerr, edge.ErrUnknownProject),
			exists && lerr == nil && r.Private == private && r.Deployment == active:
			return
		case time.Now().After(deadline):
			e.t.Fatalf("the edge's route table did not catch up with project %s (db: exists=%v private=%v active=%q; table: %+v %v)",
				project, exists, private, active, r, lerr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// containers lists the project's containers (all states).
func (e *env) containers(project string, extra ...string) []container.Summary {
	e.t.Helper()
	args := filters.NewArgs(filters.Arg("label", docker.LabelProject+"="+project))
	for _, x := range extra {
		args.Add("label", x)
	}
	l, err := e.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: args})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// eventually retries cond (every 100ms, up to 60s).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
