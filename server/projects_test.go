package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/servertest"
)

func TestSeedSessionProjects(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	niklas := env.User(t, "niklas@example.com", false)
	c := niklas.Client

	p, err := c.CreateProject(ctx, api.CreateProjectRequest{Name: "my-first-app"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Owner != "user:niklas" || p.URL != "https://my-first-app.rise.test" || p.Visibility != "public" || p.Status != "stopped" {
		t.Fatalf("created %+v", p)
	}
	if _, err := c.CreateTeam(ctx, api.CreateTeamRequest{Name: "devops"}); err != nil {
		t.Fatal(err)
	}

	// $ rise p c secret-app --visibility private --owner team:devopsy
	_, err = c.CreateProject(ctx, api.CreateProjectRequest{Name: "secret-app", Visibility: "private", Owner: "team:devopsy"})
	var e *api.Error
	if !asAPIError(err, &e) || e.Status != 404 ||
		e.Message != "Team 'devopsy' does not exist or you do not have permission to create projects for it." ||
		len(e.Suggestions) != 1 || e.Suggestions[0] != "devops" {
		t.Fatalf("typo'd team: %#v", err)
	}

	// $ rise p c secret-app --visibility private --owner team:devops
	p, err = c.CreateProject(ctx, api.CreateProjectRequest{Name: "secret-app", Visibility: "private", Owner: "team:devops"})
	if err != nil || p.Owner != "team:devops" || p.Visibility != "private" {
		t.Fatalf("team project: %+v %v", p, err)
	}

	// $ rise p ls
	l, err := c.ListProjects(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Projects) != 2 || l.Projects[0].Name != "my-first-app" || l.Projects[1].Name != "secret-app" ||
		l.Projects[1].URL != "https://secret-app.rise.test" || l.Projects[1].Owner != "team:devops" || l.NextCursor != "" {
		t.Fatalf("list: %+v", l)
	}

	got, err := c.GetProject(ctx, "secret-app")
	if err != nil || got.Name != "secret-app" {
		t.Fatalf("show: %+v %v", got, err)
	}
	vis := "public"
	up, err := c.UpdateProject(ctx, "secret-app", api.UpdateProjectRequest{Visibility: &vis})
	if err != nil || up.Visibility != "public" || !up.UpdatedAt.After(p.UpdatedAt) {
		t.Fatalf("update: %+v %v", up, err)
	}
	owner := "user:niklas"
	if up, err = c.UpdateProject(ctx, "secret-app", api.UpdateProjectRequest{Owner: &owner}); err != nil || up.Owner != "user:niklas" {
		t.Fatalf("move to user: %+v %v", up, err)
	}

	// Delete is asynchronous: 202 and status "deleting".
	status, body := call(t, env, niklas, "DELETE", "/projects/secret-app", nil)
	if d := decode[api.Project](t, body); status != http.StatusAccepted || d.Status != "deleting" {
		t.Fatalf("delete: %d %s", status, body)
	}
	if status, body := call(t, env, niklas, "PATCH", "/projects/secret-app", `{"visibility":"private"}`); status != 409 ||
		!strings.Contains(apiErr(t, body).Message, "being deleted") {
		t.Fatalf("change while deleting: %d %s", status, body)
	}
	if status, _ := call(t, env, niklas, "DELETE", "/projects/secret-app", nil); status != http.StatusAccepted {
		t.Fatalf("second delete: %d", status)
	}

	// Unknown projects suggest only the caller's own names.
	status, body = call(t, env, niklas, "GET", "/projects/my-frist-app", nil)
	if e := apiErr(t, body); status != 404 || len(e.Suggestions) != 1 || e.Suggestions[0] != "my-first-app" {
		t.Fatalf("typo'd project: %d %s", status, body)
	}
	other := env.User(t, "other@example.com", false)
	status, body = call(t, env, other, "GET", "/projects/my-first-ap", nil)
	if e := apiErr(t, body); status != 404 || len(e.Suggestions) != 0 || e.Message != "Project 'my-first-ap' not found." {
		t.Fatalf("other's typo leaks names: %d %s", status, body)
	}
}

func asAPIError(err error, target **api.Error) bool {
	e, ok := err.(*api.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestProjectPagination(t *testing.T) {
	env := servertest.New(t)
	u := env.User(t, "pager@example.com", false)
	ctx := context.Background()
	for _, n := range []string{"a1", "a2", "a3", "a4", "a5"} {
		if _, err := u.Client.CreateProject(ctx, api.CreateProjectRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	path := "/projects?limit=2"
	for range 5 {
		status, body := call(t, env, u, "GET", path, nil)
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		l := decode[api.ProjectList](t, body)
		for _, p := range l.Projects {
			seen = append(seen, p.Name)
		}
		if l.NextCursor == "" {
			break
		}
		path = "/projects?limit=2&cursor=" + l.NextCursor
	}
	if strings.Join(seen, ",") != "a1,a2,a3,a4,a5" {
		t.Fatalf("pages gave %v", seen)
	}
	all, err := u.Client.AllProjects(ctx)
	if err != nil || len(all) != 5 {
		t.Fatalf("AllProjects: %d %v", len(all), err)
	}
}

func TestProjectBadInput(t *testing.T) {
	env := servertest.New(t)
	u := env.User(t, "bad@example.com", false)
	long := strings.Repeat("a", 64)
	cases := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"uppercase", "POST", "/projects", `{"name":"MyApp"}`, 400, "lowercase"},
		{"underscore", "POST", "/projects", `{"name":"my_app"}`, 400, "only lowercase letters"},
		{"too long", "POST", "/projects", `{"name":"` + long + `"}`, 400, "maximum is 63"},
		{"reserved", "POST", "/projects", `{"name":"api"}`, 400, "reserved"},
		{"empty", "POST", "/projects", `{"name":""}`, 400, "empty"},
		{"leading digit", "POST", "/projects", `{"name":"1app"}`, 400, "start with a letter"},
		{"trailing dash", "POST", "/projects", `{"name":"app-"}`, 400, "end with a letter or digit"},
		{"visibility", "POST", "/projects", `{"name":"web","visibility":"secret"}`, 400, "visibility"},
		{"owner format", "POST", "/projects", `{"name":"web","owner":"devops"}`, 400, "owner must be"},
		{"owner kind", "POST", "/projects", `{"name":"web","owner":"org:x"}`, 400, "owner must be"},
		{"unknown field", "POST", "/projects", `{"name":"web","colour":"red"}`, 400, "unknown field"},
		{"wrong type", "POST", "/projects", `{"name":42}`, 400, "name"},
		{"malformed", "POST", "/projects", `{"name":`, 400, "malformed"},
		{"two objects", "POST", "/projects", `{"name":"a"}{"name":"b"}`, 400, "single JSON object"},
		{"empty body", "POST", "/projects", ``, 400, "empty"},
		{"oversize", "POST", "/projects", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "larger than"},
		{"other user owner", "POST", "/projects", `{"name":"web","owner":"user:someone"}`, 404, "User 'someone' does not exist"},
		{"patch visibility", "PATCH", "/projects/web", `{"visibility":"hidden"}`, 400, "visibility"},
		{"patch empty owner", "PATCH", "/projects/web", `{"owner":""}`, 400, "owner must be"},
		{"bad limit", "GET", "/projects?limit=0", ``, 400, "limit"},
		{"huge limit", "GET", "/projects?limit=5000", ``, 400, "limit"},
		{"bad cursor", "GET", "/projects?cursor=%25%25", ``, 400, "cursor"},
		{"NUL cursor", "GET", "/projects?cursor=AA", ``, 400, "cursor"},
		{"NUL in path", "GET", "/projects/a%00b", ``, 404, "not found"},
		{"space in path", "DELETE", "/projects/a%20b", ``, 404, "not found"},
		{"NUL in owner", "POST", "/projects", `{"name":"web","owner":"team:a\u0000"}`, 400, "owner must be"},
		{"NUL in team path", "GET", "/teams/%00", ``, 404, "not found"},
		{"NUL in member", "POST", "/teams", `{"name":"crew","members":["\u0000"]}`, 400, "handle or email"},
		{"team typo owner case", "POST", "/projects", `{"name":"web","owner":"team:Nobody"}`, 404, "Team 'Nobody' does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" || c.method == "POST" {
				body = c.body
			}
			status, out := call(t, env, u, c.method, c.path, body)
			if status != c.status || !strings.Contains(apiErr(t, out).Message, c.contains) {
				t.Fatalf("got %d %s, want %d containing %q", status, out, c.status, c.contains)
			}
		})
	}
	// Wrong content type.
	req, _ := http.NewRequest("POST", env.URL+"/api/v1/projects", strings.NewReader(`{"name":"web"}`))
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
	// None of it wrote anything.
	var n int
	if err := env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM projects`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("bad input wrote %d projects (%v)", n, err)
	}
	// The invalid name's sanitised suggestion is offered.
	_, out := call(t, env, u, "POST", "/projects", `{"name":"My_App"}`)
	if e := apiErr(t, out); len(e.Suggestions) != 1 || e.Suggestions[0] != "my-app" {
		t.Errorf("suggestion for My_App: %s", out)
	}
}

func TestConcurrentCreateExactlyOne201(t *testing.T) {
	env := servertest.New(t)
	callers := []*servertest.Caller{env.User(t, "a@example.com", false), env.User(t, "b@example.com", false)}
	const n = 12
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i], _ = call(t, env, callers[i%2], "POST", "/projects", `{"name":"contested"}`)
		})
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 409:
			conflicts++
		}
	}
	if created != 1 || conflicts != n-1 {
		t.Fatalf("codes %v: want exactly one 201 and the rest 409", codes)
	}
}

func TestProjectOwnership(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	anna := env.User(t, "anna@example.com", false)
	bob := env.User(t, "bob@example.com", false)
	admin := env.User(t, "admin@example.com", true)
	if _, err := bob.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "bobs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := anna.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "annas"}); err != nil {
		t.Fatal(err)
	}
	if _, err := anna.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	// Anna cannot give her project to a team she is not in, nor to Bob.
	for _, owner := range []string{"team:bobs", "user:bob"} {
		o := owner
		_, err := anna.Client.UpdateProject(ctx, "shop", api.UpdateProjectRequest{Owner: &o})
		if api.StatusOf(err) != 404 || !strings.Contains(err.Error(), "do not have permission") {
			t.Errorf("move to %s: %v", owner, err)
		}
	}
	// But to her own team, and then it is the team's.
	o := "team:annas"
	p, err := anna.Client.UpdateProject(ctx, "shop", api.UpdateProjectRequest{Owner: &o})
	if err != nil || p.Owner != "team:annas" {
		t.Fatalf("move to own team: %+v %v", p, err)
	}
	// Admins may create for and move to anyone.
	p, err = admin.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "for-bob", Owner: "user:bob"})
	if err != nil || p.Owner != "user:bob" {
		t.Fatalf("admin create for bob: %+v %v", p, err)
	}
	if _, err := bob.Client.GetProject(ctx, "for-bob"); err != nil {
		t.Fatalf("bob cannot see his project: %v", err)
	}
	o = "team:bobs"
	if p, err = admin.Client.UpdateProject(ctx, "shop", api.UpdateProjectRequest{Owner: &o}); err != nil || p.Owner != "team:bobs" {
		t.Fatalf("admin move: %+v %v", p, err)
	}
	if _, err := anna.Client.GetProject(ctx, "shop"); api.StatusOf(err) != 404 {
		t.Fatalf("anna still sees the moved project: %v", err)
	}
	// Renaming a team keeps its projects.
	newName := "bobs-team"
	if _, err := bob.Client.UpdateTeam(ctx, "bobs", api.UpdateTeamRequest{Name: &newName}); err != nil {
		t.Fatal(err)
	}
	if p, err := bob.Client.GetProject(ctx, "shop"); err != nil || p.Owner != "team:bobs-team" {
		t.Fatalf("after team rename: %+v %v", p, err)
	}
}
