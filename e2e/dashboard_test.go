package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/browsertest"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/server/ui"
)

// TestDashboardInBrowser drives the web dashboard in a real headless
// Chromium against the real `rise server` on PostgreSQL, a registry and the
// Docker Engine: log in as a local user, create a project, watch a
// deployment made through the API reach Healthy without a reload, follow
// live logs, roll back, stop, change a team; a second user gets the 404
// page for the first user's private project; a forged form post is
// refused; the CSP is set; pages stay under 100 KB and paint fast with
// 1,000 projects. Screenshots go to browsertest.ArtifactDir (logged).
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Chromium, a registry, PostgreSQL and the Docker Engine")
	}
	base := baseimage.Require(t, "docker")
	const password = "dash-pass-42"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	public := "http://127.0.0.1:" + strconv.Itoa(port)
	key, crt := writeTokenKeyPair(t, t.TempDir())
	reg := registrytest.Start(t, registrytest.Options{
		Realm: public + "/api/v1/registry/token", Service: "rise-registry", Issuer: "rise", RootCertBundle: crt,
	})
	project := "dash-" + strings.ToLower(randHex(3))
	// Registered before the server starts: runs after it (and its
	// controller) stopped.
	t.Cleanup(func() { removeProjectContainers(t, project) })
	srv := startSessionServer(t, port, fmt.Sprintf(`
auth {
  local {
    user "alice@rise.dev" {
      password_hash = %[1]q
    }
    user "bob@rise.dev" {
      password_hash = %[1]q
    }
  }
}
registry "docker" {
  url              = %[2]q
  service          = "rise-registry"
  issuer           = "rise"
  signing_key_file = %[3]q
  certificate_file = %[4]q
}
runtime "docker" {
  bind_address = "127.0.0.1"
  stop_timeout = "1s"
}
`, hash, reg.Addr, key, crt))
	ctx := context.Background()
	tok, err := api.NewClient(srv.URL, "").Login(ctx, api.LoginRequest{Email: "alice@rise.dev", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	aliceAPI := api.NewClient(srv.URL, tok.Token)

	alice := browsertest.New(t)
	fatal := func(what string, err error) {
		t.Helper()
		t.Fatalf("%s: %v\nserver log (tail):\n%s", what, err, tail(srv.logs.String(), 60))
	}
	run := func(b context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(b, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			fatal(what, err)
		}
	}
	shot := func(b context.Context, name string) { browsertest.Screenshot(t, b, name) }
	text := func(b context.Context, sel string) string {
		t.Helper()
		c, cancel := context.WithTimeout(b, 90*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fatal("read "+sel, err)
		}
		return s
	}
	eval := func(b context.Context, js string, out any) {
		t.Helper()
		c, cancel := context.WithTimeout(b, 90*time.Second)
		defer cancel()
		raw, err := chromedp.Run(c, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
		if err != nil {
			fatal("evaluate "+js, err)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				fatal("decode the result of "+js, err)
			}
		}
	}
	browserLogin := func(b context.Context, email string) {
		t.Helper()
		run(b, "log in as "+email,
			chromedp.Navigate(srv.URL+"/projects"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)), // the login form of /auth/login
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), email),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
			chromedp.Submit(chromedp.CSS(`input[name=password]`)),
			chromedp.WaitVisible(chromedp.CSS(`#projects-count`)), // back on /projects
		)
	}

	// Log in with a local user through the existing browser login.
	browserLogin(alice, "alice@rise.dev")

	// Keyboard: the first Tab reaches the skip link, which shows its focus.
	var focus struct {
		Text    string `json:"text"`
		Outline string `json:"outline"`
	}
	run(alice, "tab", chromedp.KeyEvent(kb.Tab))
	eval(alice, `(() => { const e = document.activeElement; return {text: e.textContent, outline: getComputedStyle(e).outlineStyle}; })()`, &focus)
	if focus.Text != "Skip to content" || focus.Outline == "none" {
		t.Errorf("first Tab focuses %q with outline %q, want the skip link with a visible focus", focus.Text, focus.Outline)
	}

	// Create a private project in the dashboard.
	run(alice, "create project",
		chromedp.Navigate(srv.URL+"/projects/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), project),
		chromedp.Click(chromedp.CSS(`input[name=visibility][value=private]`)),
	)
	shot(alice, "new-project")
	run(alice, "submit project", chromedp.Submit(chromedp.CSS(`#name`)), chromedp.WaitVisible(chromedp.CSS(`#deployments`)))
	if h := text(alice, "h1"); h != project {
		t.Fatalf("after create: heading %q, want %q", h, project)
	}

	// Push the base image to the project's repository with the credentials
	// rise hands out (as `rise deploy` does).
	ref := pushImage(t, aliceAPI, project, base, "v1")

	// Deploy through the API while the project page is open; the page
	// shows the deployment and its state reaching Healthy without a reload.
	eval(alice, `window.__sameDocument = true`, nil)
	wl := &api.Workload{Port: 8080, HealthPath: "/", Command: []string{"/bin/sh", "-c",
		`mkdir -p /www; echo hello > /www/index.html; echo app-started; (i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done) & exec /bin/busybox httpd -f -p 8080 -h /www`}}
	d1, err := aliceAPI.CreateDeployment(ctx, project, &api.CreateDeploymentRequest{Image: ref, Workload: wl})
	if err != nil {
		t.Fatal(err)
	}
	healthy := func(id string) string {
		return `#deployments tr[data-deployment="` + id + `"] .state[data-state=Healthy]`
	}
	waitHealthy := func(b context.Context, id string) {
		t.Helper()
		c, cancel := context.WithTimeout(b, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(c, chromedp.WaitVisible(chromedp.CSS(healthy(id)))); err != nil {
			d, derr := aliceAPI.GetDeployment(ctx, project, id)
			html, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector('main').outerHTML + '\n' +
				performance.getEntriesByType('resource').map(r => r.name + ' ' + r.responseStatus).join('\n')`))
			fatal(fmt.Sprintf("deployment %s Healthy on the page (API: %+v %v)\n%s", id, d, derr, html), err)
		}
	}
	waitHealthy(alice, d1.ID)
	var same bool
	eval(alice, `window.__sameDocument === true`, &same)
	if !same {
		t.Error("the project page reloaded; the state should arrive through the event stream")
	}
	shot(alice, "project-live")

	// A second deployment (v2), then roll back to the first in the dashboard.
	d2, err := aliceAPI.CreateDeployment(ctx, project, &api.CreateDeploymentRequest{Image: ref, Workload: wl})
	if err != nil {
		t.Fatal(err)
	}
	waitHealthy(alice, d2.ID)
	run(alice, "reload the project page", chromedp.Navigate(srv.URL+"/projects/"+project), chromedp.WaitVisible(chromedp.CSS(healthy(d2.ID))))
	shot(alice, "project")

	// Live logs: the deployment page follows new lines and searches them.
	run(alice, "open d2",
		chromedp.Navigate(srv.URL+"/projects/"+project+"/deployments/"+d2.ID),
		chromedp.WaitVisible(chromedp.CSS(`#logs`)),
	)
	var lines int
	eval(alice, `document.querySelectorAll('#logs li').length`, &lines)
	if _, err := chromedp.Run(alice, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll('#logs li').length >= %d`, lines+3),
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		fatal("live log lines arrive", err)
	}
	if !strings.Contains(text(alice, "#logs"), "app-started") {
		t.Errorf("logs do not show app-started:\n%s", text(alice, "#logs"))
	}
	run(alice, "search logs", chromedp.SendKeys(chromedp.CSS(`#log-search`), "app-started"))
	var visible []string
	eval(alice, `[...document.querySelectorAll('#logs li')].filter(li => !li.hidden).map(li => li.querySelector('span').textContent)`, &visible)
	if len(visible) != 1 || visible[0] != "app-started" {
		t.Errorf("search app-started shows %q", visible)
	}
	eval(alice, `(() => { const s = document.querySelector('#log-search'); s.value = ''; s.dispatchEvent(new Event('input')); return true; })()`, nil)
	shot(alice, "deployment")

	// Roll back to d1 from its page: a new deployment, Healthy live.
	run(alice, "roll back",
		chromedp.Navigate(srv.URL+"/projects/"+project+"/deployments/"+d1.ID),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/rollback"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/rollback"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts .state[data-state=Healthy]`)),
	)
	loc, err := chromedp.Run(alice, chromedp.Location())
	if err != nil {
		fatal("location", err)
	}
	rbID := loc[strings.LastIndex(loc, "/")+1:]
	rb, err := aliceAPI.GetDeployment(ctx, project, rbID)
	if err != nil || rb.RollbackOf != d1.ID {
		t.Fatalf("after roll back: at %s, deployment %+v (%v), want a rollback of %s", loc, rb, err, d1.ID)
	}
	if !strings.Contains(text(alice, "#timeline"), "Healthy") {
		t.Errorf("timeline of the rollback:\n%s", text(alice, "#timeline"))
	}

	// Stop it from its page; the state reaches Stopped.
	run(alice, "stop",
		chromedp.Click(chromedp.CSS(`form[action$="/stop"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts .state[data-state=Stopped]`)),
	)
	shot(alice, "deployment-stopped")

	// The dashboard's actions are audited like the API's, as alice.
	audit, err := aliceAPI.Audit(ctx, api.AuditQuery{Project: project})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range audit.Events {
		if e.Actor == "user:alice" {
			seen[e.Action] = true
		}
	}
	for _, a := range []string{"project.create", "deployment.rollback", "deployment.stop"} {
		if !seen[a] {
			t.Errorf("no %s audit event by user:alice (have %v)", a, seen)
		}
	}

	// Team membership through the dashboard (bob exists once he logged in).
	if _, err := api.NewClient(srv.URL, "").Login(ctx, api.LoginRequest{Email: "bob@rise.dev", Password: password}); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceAPI.CreateTeam(ctx, api.CreateTeamRequest{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	run(alice, "add bob to team web",
		chromedp.Navigate(srv.URL+"/teams/web"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "bob@rise.dev"),
	)
	{ // the post, its redirect and the team page it lands on
		c, cancel := context.WithTimeout(alice, 90*time.Second)
		resp, err := chromedp.RunResponse(c, chromedp.Submit(chromedp.CSS(`input[name=user]`)))
		cancel()
		if err != nil || resp.Status != http.StatusOK {
			fatal(fmt.Sprintf("add bob to team web: %+v", resp), err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		team, err := aliceAPI.GetTeam(ctx, "web")
		if err == nil && strings.Join(team.Members, ",") == "bob" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("team web after adding bob in the dashboard: %+v %v", team, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if people := text(alice, ".people"); !strings.Contains(people, "bob") {
		t.Errorf("team page lists %q, want bob among them", people)
	}
	shot(alice, "team")

	// CSRF: a form post from a dashboard page of alice's own session, but
	// without the page's token, is refused and changes nothing.
	var forged []int
	eval(alice, fmt.Sprintf(`(async () => {
		const post = body => fetch('/projects/%[1]s/delete', {method: 'POST', body: new URLSearchParams(body)}).then(r => r.status);
		return [await post({confirm: '%[1]s', csrf: 'forged'}), await post({confirm: '%[1]s'})];
	})()`, project), &forged)
	if len(forged) != 2 || forged[0] != http.StatusForbidden || forged[1] != http.StatusForbidden {
		t.Errorf("forged delete posts: %v, want [403 403]", forged)
	}
	if p, err := aliceAPI.GetProject(ctx, project); err != nil || p.Status == "deleting" {
		t.Fatalf("the project after forged deletes: %+v %v", p, err)
	}

	// Security headers on every page.
	var csp string
	eval(alice, `fetch('/projects').then(r => r.headers.get('content-security-policy'))`, &csp)
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q allows inline script or eval", csp)
	}

	// A second user: alice's private project is the 404 page, exactly like
	// a project that does not exist.
	bob := browsertest.New(t)
	browserLogin(bob, "bob@rise.dev")
	status := func(b context.Context) int {
		var s int
		eval(b, `performance.getEntriesByType('navigation')[0].responseStatus`, &s)
		return s
	}
	run(bob, "bob opens alice's project", chromedp.Navigate(srv.URL+"/projects/"+project), chromedp.WaitVisible(chromedp.CSS("h1")))
	theirs, theirsStatus := text(bob, "main"), status(bob)
	shot(bob, "not-found")
	nosuch := "nosuch-" + strings.ToLower(randHex(3))
	run(bob, "bob opens a missing project", chromedp.Navigate(srv.URL+"/projects/"+nosuch), chromedp.WaitVisible(chromedp.CSS("h1")))
	missing, missingStatus := text(bob, "main"), status(bob)
	if theirsStatus != http.StatusNotFound || missingStatus != http.StatusNotFound || !strings.HasPrefix(theirs, "Not found") {
		t.Errorf("bob on alice's project: %d %q; on a missing one: %d", theirsStatus, theirs, missingStatus)
	}
	if strings.ReplaceAll(theirs, project, "P") != strings.ReplaceAll(missing, nosuch, "P") {
		t.Errorf("alice's project and a missing one look different to bob:\n%q\n%q", theirs, missing)
	}
	run(bob, "bob opens alice's deployment", chromedp.Navigate(srv.URL+"/projects/"+project+"/deployments/"+d1.ID), chromedp.WaitVisible(chromedp.CSS("h1")))
	if s := status(bob); s != http.StatusNotFound {
		t.Errorf("bob on alice's deployment page: %d", s)
	}
	var events int
	eval(bob, fmt.Sprintf(`fetch('/api/v1/projects/%s/events').then(r => r.status)`, project), &events)
	if events != http.StatusNotFound {
		t.Errorf("bob's event stream of alice's project: %d, want 404", events)
	}

	// 1,000 projects: every page < 100 KB transferred, first paint measured.
	addProjects(t, srv.DBURL, "alice", 1000)
	measure := func(path string) (transfer int, paint float64) {
		t.Helper()
		run(alice, "load "+path, chromedp.Navigate(srv.URL+path), chromedp.WaitReady(chromedp.CSS("body")))
		var m struct {
			Transfer int     `json:"transfer"`
			Paint    float64 `json:"paint"`
			Server   float64 `json:"server"`
		}
		eval(alice, `new Promise(done => setTimeout(() => {
			const nav = performance.getEntriesByType('navigation')[0];
			const res = performance.getEntriesByType('resource').reduce((n, r) => n + r.transferSize, 0);
			const fcp = performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint');
			done({transfer: nav.transferSize + res, paint: fcp ? fcp.startTime : -1, server: nav.responseStart - nav.requestStart});
		}, 100))`, &m)
		if path == "/projects" {
			t.Logf("/projects: first byte after %.0f ms, first contentful paint at %.0f ms", m.Server, m.Paint)
		}
		return m.Transfer, m.Paint
	}
	pages := []string{"/projects", "/projects/" + project, "/projects/" + project + "/deployments/" + d2.ID, "/teams", "/teams/web", "/me", "/projects/new"}
	for _, p := range pages {
		// Twice: the second load is the steady state (assets cached), the
		// first the cold one; both must be small.
		for i := 0; i < 2; i++ {
			n, _ := measure(p)
			t.Logf("page %s load %d: %d bytes transferred", p, i+1, n)
			if n <= 0 || n >= 100_000 {
				t.Errorf("page %s transferred %d bytes, budget < 100 KB", p, n)
			}
		}
	}
	var rows int
	best := -1.0
	for i := 0; i < 5; i++ {
		_, fp := measure("/projects")
		if fp > 0 && (best < 0 || fp < best) {
			best = fp
		}
	}
	eval(alice, `document.querySelectorAll('#projects tbody tr').length`, &rows)
	if rows != ui.ProjectsPerPage {
		t.Errorf("projects page lists %d projects, want a page of %d", rows, ui.ProjectsPerPage)
	}
	// The pages together list all 1,001, the last one the rest.
	var pager string
	eval(alice, `document.querySelector('nav.pager').textContent`, &pager)
	if !strings.Contains(pager, "Page 1 of 11") {
		t.Errorf("pager %q, want page 1 of 11", pager)
	}
	run(alice, "last page", chromedp.Navigate(srv.URL+"/projects?page=11"), chromedp.WaitReady(chromedp.CSS("body")))
	eval(alice, `document.querySelectorAll('#projects tbody tr').length`, &rows)
	if rows != 1 {
		t.Errorf("the last page lists %d projects, want 1", rows)
	}
	// Reported figure, target 200 ms; the check is a bound a loaded CI
	// machine cannot trip by chance, so only a real regression fails it.
	t.Logf("first contentful paint of /projects with 1,001 projects: %.0f ms (target 200 ms; best of 5)", best)
	if best < 0 {
		t.Error("the browser reported no first-contentful-paint")
	} else if best > 2000 {
		t.Errorf("first contentful paint %.0f ms with 1,000 projects: over the 2 s regression bound (target 200 ms)", best)
	}
	run(alice, "first page", chromedp.Navigate(srv.URL+"/projects"), chromedp.WaitReady(chromedp.CSS("body")))
	browsertest.ViewportScreenshot(t, alice, "projects")
	// The server filters all pages (the form, or ?q=); typing filters the
	// page shown at once.
	run(alice, "filter on the server", chromedp.Navigate(srv.URL+"/projects?q=load-00"), chromedp.WaitReady(chromedp.CSS("body")))
	var shown int
	eval(alice, `document.querySelectorAll('#projects tbody tr').length`, &shown)
	if shown != 99 {
		t.Errorf("?q=load-00 lists %d projects, want 99", shown)
	}
	var cleared bool
	eval(alice, `(document.querySelector('input[name=q]').value = '') === ''`, &cleared)
	run(alice, "filter as you type", chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "load-001"))
	eval(alice, `[...document.querySelectorAll('#projects tbody tr')].filter(tr => !tr.hidden).length`, &shown)
	if shown != 10 {
		t.Errorf("typing load-001 shows %d projects, want 10", shown)
	}
	browsertest.ViewportScreenshot(t, alice, "projects-filtered")

	run(alice, "me", chromedp.Navigate(srv.URL+"/me"), chromedp.WaitVisible(chromedp.CSS(`form[action="/me/revoke"]`)))
	shot(alice, "me")
	// Log out: the session ends; the dashboard asks for a login again.
	run(alice, "log out",
		chromedp.Click(chromedp.CSS(`form.logout button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
	)
	if os.Getenv("RISE_DASHBOARD_DOCS") != "" { // refresh docs/images from this run
		copyDocImages(t, browsertest.ArtifactDir(t))
	}
}

// pushImage tags base as the project's image and pushes it with the
// registry credentials rise hands out for a deployment (as the CLI does).
func pushImage(t *testing.T, c *api.Client, project, base, tag string) string {
	t.Helper()
	ctx := context.Background()
	d, err := c.CreateDeployment(ctx, project, &api.CreateDeploymentRequest{})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.RegistryCredentials(ctx, project, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	ref := creds.Repository + ":" + tag
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", ref).Run() })
	cfg := t.TempDir()
	for _, step := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"tag", base, ref}},
		{creds.Password, []string{"--config", cfg, "login", "--username", creds.Username, "--password-stdin", creds.Registry}},
		{"", []string{"--config", cfg, "push", ref}},
	} {
		cmd := exec.Command("docker", step.args...)
		cmd.Stdin = strings.NewReader(step.stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", step.args, err, out)
		}
	}
	// The push deployment is not needed any more.
	if _, err := c.UpdateDeploymentState(ctx, project, d.ID, &api.UpdateDeploymentStateRequest{State: api.StateFailed, Message: "image pushed for the dashboard test"}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// addProjects inserts n public projects load-0001... owned by user owner
// straight into the database (creating them through the API would take
// the test's time, not the dashboard's).
func addProjects(t *testing.T, dbURL, owner string, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO projects (name, visibility, owner_user_id)
		SELECT 'load-' || lpad(i::text, 4, '0'), 'public', (SELECT id FROM users WHERE name = $1)
		FROM generate_series(1, $2) i`, owner, n); err != nil {
		t.Fatalf("insert %d projects: %v", n, err)
	}
}

// copyDocImages copies the screenshots docs/dashboard.md shows.
func copyDocImages(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"projects", "project", "deployment", "team", "not-found"} {
		b, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "images", "dashboard-"+name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
