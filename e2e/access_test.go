package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/edge"
	"github.com/riseplatform/rise/server/servertest"
)

// accessServer is a real server (real local-user auth, the deployments
// controller on the real Docker Engine) with the edge wired as `rise
// server` wires it: the notification-fed route table deciding access with
// server.hcl's access block:
//
//	access {
//	  authenticated { email_domains = ["rise.dev"] }
//	  class "internal" { groups = ["employees"] }
//	}
//
// Local users: alice, bob (@rise.dev), carol@partner.org (group
// employees), dave@partner.org, mallory@evil.test, root@rise.dev (admin).
func accessServer(t *testing.T) *servertest.Env {
	t.Helper()
	baseimage.Require(t, "docker")
	rt := &docker.Runtime{MaxRestarts: 2, StopTimeout: "1s"}
	pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.Provision(pctx); err != nil {
		t.Fatalf("docker runtime: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	hash, err := bcrypt.GenerateFromPassword([]byte(localPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	access := &config.Access{
		Authenticated: &config.AccessRule{EmailDomains: []string{"rise.dev"}},
		Classes:       []*config.AccessClass{{Name: "internal", Groups: []string{"employees"}}},
	}
	var svc *deploy.Service
	var table *edge.Table
	srv := servertest.New(t, func(c *config.Server, d *server.Deps) {
		c.Domain, c.AppScheme, c.Access = "rise.dev", "https", access
		var users []*config.LocalUser
		for _, email := range []string{"alice@rise.dev", "bob@rise.dev", "dave@partner.org", "mallory@evil.test"} {
			users = append(users, &config.LocalUser{Email: email, PasswordHash: string(hash)})
		}
		users = append(users, &config.LocalUser{Email: "carol@partner.org", PasswordHash: string(hash), Groups: []string{"employees"}},
			&config.LocalUser{Email: "root@rise.dev", PasswordHash: string(hash), Admin: true})
		a, err := auth.New(context.Background(), &config.Auth{Local: &config.LocalAuth{Users: users}}, d.Store, auth.Options{
			PublicURL: "http://rise.test", AppsDomain: "rise.dev", DataDir: t.TempDir(), Listen: "127.0.0.1:0", Log: hclog.NewNullLogger(),
		})
		if err != nil {
			t.Fatalf("auth.New: %v", err)
		}
		d.Auth = a
		svc, err = deploy.New(deploy.Options{
			Store:      d.Store,
			Runtime:    func(context.Context) (sdk.Runtime, error) { return rt, nil },
			AppURL:     func(p string) string { return "https://" + p + ".rise.dev" },
			DeployPoll: 200 * time.Millisecond,
		})
		if err != nil {
			t.Fatalf("deploy.New: %v", err)
		}
		d.Mounts = append(d.Mounts, svc)
		table, err = edge.NewTable(context.Background(), edge.TableOptions{Pool: d.Store.Pool(), Access: access})
		if err != nil {
			t.Fatal(err)
		}
		d.Edge, err = edge.New(edge.Options{
			Domain: "rise.dev", PublicURL: "http://rise.test", Lookup: table.Lookup, CanAccess: table.CanAccess,
			Identity: a.IdentityFromRequest, IdentityCookie: auth.SessionCookie, Sessions: a, IdentityTTL: time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	go func() { defer wg.Done(); _ = table.Run(ctx) }()
	stopAll := sync.OnceFunc(func() { stop(); wg.Wait() })
	controllers.Store(t, stopAll)
	t.Cleanup(func() { stopAll(); controllers.Delete(t) })
	return srv
}

// appGet GETs project's app through the server as a browser (with the
// rise session cookie of token, when set) and returns status and body.
func appGet(t *testing.T, srv *servertest.Env, project, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Host = project + ".rise.dev"
	req.Header.Set("Accept", "text/html")
	if token != "" {
		req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: token})
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", req.Host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAccessClassesThroughEdge deploys one app on the real Docker Engine
// and walks it through every access class and app users, checking who
// reaches it through the edge (200), who is sent to log in (302), who is
// turned away (403, naming the class) and to whom it does not exist (404).
// Every change applies at once: the edge's table follows the database's
// notifications. App users are refused every project API.
func TestAccessClassesThroughEdge(t *testing.T) {
	t.Parallel()
	srv := accessServer(t)
	ctx := context.Background()
	alice := login(t, srv, "alice@rise.dev")
	bob := login(t, srv, "bob@rise.dev")
	carol := login(t, srv, "carol@partner.org")
	dave := login(t, srv, "dave@partner.org")
	mallory := login(t, srv, "mallory@evil.test")
	root := login(t, srv, "root@rise.dev")
	project := "acl-" + strings.ToLower(randHex(3))
	cleanupProject(t, project)
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})

	r := cli.rise(t, "p", "c", project, "--access", "authenticated")
	if r.Code != 0 || r.Err != "Created project '"+project+"' with authenticated access owned by user:alice.\n" {
		t.Fatalf("p c --access authenticated: %d %q %q", r.Code, r.Out, r.Err)
	}
	if r := cli.rise(t, "p", "u", project, "--access", "internl"); r.Code == 0 || !strings.Contains(r.Err, `access "internl" is not an access class of this server`) ||
		!strings.Contains(r.Err, "internal") {
		t.Errorf("unknown class: %d %q", r.Code, r.Err)
	}
	d, err := alice.Client.CreateDeployment(ctx, project, &api.CreateDeploymentRequest{Image: baseimage.Image, Workload: &api.Workload{
		Port: 8080, HealthPath: "/", Command: []string{"/bin/sh", "-c", "mkdir -p /www && echo members-only > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, func() bool {
		got, err := alice.Client.GetDeployment(ctx, project, d.ID)
		return err == nil && got.State == api.StateHealthy
	})

	type want struct {
		who  string
		tok  string
		code int
	}
	check := func(class string, wants ...want) {
		t.Helper()
		for _, w := range wants {
			var code int
			var body string
			// The edge applies an access change once its notification arrived.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if code, body = appGet(t, srv, project, w.tok); code == w.code || time.Now().After(deadline) {
					break
				}
			}
			switch {
			case code != w.code:
				t.Errorf("%s: %s got %d %q, want %d", class, w.who, code, body, w.code)
			case code == http.StatusOK && body != "members-only\n":
				t.Errorf("%s: %s got body %q", class, w.who, body)
			case code == http.StatusForbidden && !strings.Contains(body, "open to the '"+class+"' access class only"):
				t.Errorf("%s: %s got 403 %q", class, w.who, body)
			case code == http.StatusNotFound && body != "No project named '"+project+"'.\n":
				t.Errorf("%s: %s got 404 %q (must look like a missing project)", class, w.who, body)
			}
		}
	}
	setClass := func(class string) {
		t.Helper()
		if r := cli.rise(t, "p", "u", project, "--access", class); r.Code != 0 {
			t.Fatalf("p u --access %s: %d %q", class, r.Code, r.Err)
		}
	}

	check("authenticated",
		want{"anonymous", "", http.StatusFound}, want{"alice (owner)", alice.Token, http.StatusOK},
		want{"bob (@rise.dev)", bob.Token, http.StatusOK}, want{"dave (@partner.org)", dave.Token, http.StatusForbidden},
		want{"mallory", mallory.Token, http.StatusForbidden}, want{"root (admin)", root.Token, http.StatusOK})

	setClass("internal")
	check("internal",
		want{"carol (employees)", carol.Token, http.StatusOK}, want{"bob (no group)", bob.Token, http.StatusForbidden},
		want{"anonymous", "", http.StatusFound}, want{"alice (owner)", alice.Token, http.StatusOK})

	setClass("private")
	check("private",
		want{"anonymous", "", http.StatusFound}, want{"bob", bob.Token, http.StatusNotFound}, want{"carol", carol.Token, http.StatusNotFound},
		want{"alice (owner)", alice.Token, http.StatusOK}, want{"root (admin)", root.Token, http.StatusOK})

	// App users: bob directly, dave through his team.
	if r := cli.rise(t, "p", "app-user", "add", project, "user:bob@rise.dev"); r.Code != 0 ||
		r.Err != "user:bob may now use the app of '"+project+"' (and nothing else of the project).\n" {
		t.Fatalf("app-user add: %d %q", r.Code, r.Err)
	}
	if _, err := dave.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "finance-" + project}); err != nil {
		t.Fatal(err)
	}
	if r := cli.rise(t, "p", "au", "add", project, "team:finance-"+project); r.Code != 0 {
		t.Fatalf("app-user add team: %d %q", r.Code, r.Err)
	}
	if r := cli.rise(t, "p", "au", "add", project, "user:ghost@rise.dev"); r.Code == 0 || !strings.Contains(r.Err, "Unknown user 'ghost@rise.dev'") {
		t.Errorf("unknown app user: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "p", "au", "ls", project)
	if r.Code != 0 || !strings.Contains(r.Out, "user:bob") || !strings.Contains(r.Out, "bob@rise.dev") || !strings.Contains(r.Out, "team:finance-"+project) {
		t.Errorf("app-user ls: %d %q %q", r.Code, r.Out, r.Err)
	}
	check("private",
		want{"bob (app user)", bob.Token, http.StatusOK}, want{"dave (app team)", dave.Token, http.StatusOK},
		want{"carol", carol.Token, http.StatusNotFound}, want{"mallory", mallory.Token, http.StatusNotFound})

	// An app user has no right on the project: every project API says not found.
	notFound := func(what string, err error) {
		t.Helper()
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !strings.EqualFold(strings.TrimSuffix(ae.Message, "."), "Project '"+project+"' not found") {
			t.Errorf("app user %s: %v, want 404 Project not found", what, err)
		}
	}
	_, err = bob.Client.GetProject(ctx, project)
	notFound("show", err)
	_, err = bob.Client.CreateDeployment(ctx, project, &api.CreateDeploymentRequest{Image: baseimage.Image})
	notFound("deploy", err)
	_, err = bob.Client.ListDeployments(ctx, project, "", 10, "")
	notFound("list deployments", err)
	_, err = bob.Client.GetDeployment(ctx, project, d.ID)
	notFound("show deployment", err)
	notFound("logs", bob.Client.DeploymentLogs(ctx, project, d.ID, api.LogOptions{}, func(api.LogLine) error { return nil }))
	_, err = bob.Client.StopDeployment(ctx, project, d.ID)
	notFound("stop", err)
	_, err = bob.Client.RollbackDeployment(ctx, project, d.ID)
	notFound("rollback", err)
	pub := "public"
	_, err = bob.Client.UpdateProject(ctx, project, api.UpdateProjectRequest{Access: &pub})
	notFound("update", err)
	notFound("delete", bob.Client.DeleteProject(ctx, project))
	_, err = bob.Client.ListAppUsers(ctx, project)
	notFound("list app users", err)
	_, err = bob.Client.AddAppUser(ctx, project, "user:mallory@evil.test")
	notFound("add app users", err)
	_, err = bob.Client.ListServiceAccounts(ctx, project)
	notFound("list service accounts", err)
	if ps, err := bob.Client.AllProjects(ctx); err != nil || len(ps) != 0 {
		t.Errorf("app user lists projects: %v %v", ps, err)
	}
	// A hostile tenant cannot make themselves an app user.
	_, err = mallory.Client.AddAppUser(ctx, project, "user:mallory@evil.test")
	notFound("(mallory) add herself", err)
	notFound("(mallory) remove bob", mallory.Client.RemoveAppUser(ctx, project, "user:bob"))

	// Removing the grant applies at once.
	if r := cli.rise(t, "p", "au", "rm", project, "user:bob"); r.Code != 0 {
		t.Fatalf("app-user rm: %d %q", r.Code, r.Err)
	}
	check("private", want{"bob (grant removed)", bob.Token, http.StatusNotFound}, want{"dave (app team)", dave.Token, http.StatusOK})

	setClass("public")
	check("public", want{"anonymous", "", http.StatusOK}, want{"mallory", mallory.Token, http.StatusOK})
	if r := cli.rise(t, "p", "s", project, "-o", "json"); r.Code != 0 || !strings.Contains(r.Out, `"access": "public"`) || !strings.Contains(r.Out, `"visibility": "public"`) {
		t.Errorf("p s -o json: %q", r.Out)
	}
	// --visibility is an alias of --access.
	if r := cli.rise(t, "p", "u", project, "--visibility", "private"); r.Code != 0 || r.Err != "Updated project '"+project+"': private visibility, owned by user:alice.\n" {
		t.Errorf("p u --visibility private: %d %q", r.Code, r.Err)
	}
	check("private", want{"anonymous", "", http.StatusFound})
}
