package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/servertest"
)

// TestAuthzMatrix checks every project and team route for every kind of
// caller. Actors:
//
//	owner   owns project "solo"; in no team
//	lead    owner of team "devops" (which owns project "ops") and of team "spare"
//	member  member of "devops" and "spare"
//	other   a user with nothing
//	admin   an admin
//	sa      service account of project "ops"
//	anon    no credentials
func TestAuthzMatrix(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	actors := map[string]*servertest.Caller{
		"owner":  env.User(t, "owner@example.com", false),
		"lead":   env.User(t, "lead@example.com", false),
		"member": env.User(t, "member@example.com", false),
		"other":  env.User(t, "other@example.com", false),
		"admin":  env.User(t, "admin@example.com", true),
	}
	lead := actors["lead"].Client
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := actors["owner"].Client.CreateProject(ctx, api.CreateProjectRequest{Name: "solo"})
	must(err)
	_, err = lead.CreateTeam(ctx, api.CreateTeamRequest{Name: "devops", Members: []string{"member"}})
	must(err)
	_, err = lead.CreateProject(ctx, api.CreateProjectRequest{Name: "ops", Owner: "team:devops"})
	must(err)
	recreateSpare := func() {
		_, err := lead.CreateTeam(ctx, api.CreateTeamRequest{Name: "spare", Members: []string{"member@example.com"}})
		must(err)
	}
	recreateSpare()
	actors["sa"] = env.ServiceAccount(t, "ops")
	actors["anon"] = nil
	order := []string{"owner", "lead", "member", "other", "admin", "sa", "anon"}

	// undeleteAll puts projects marked "deleting" back, so each cell starts
	// from the same state.
	undeleteAll := func() {
		_, err := env.Store.Pool().Exec(ctx, `UPDATE projects SET status = 'stopped' WHERE status = 'deleting'`)
		must(err)
	}
	var seq int
	uniq := func(prefix string) string { seq++; return fmt.Sprintf("%s-%d", prefix, seq) }

	type row struct {
		method, path string
		body         func() string
		want         map[string]int
		after        func() // restore state after a successful cell
	}
	static := func(s string) func() string { return func() string { return s } }
	rows := []row{
		// projects
		{"POST", "/projects", func() string { return `{"name":"` + uniq("own") + `"}` },
			map[string]int{"owner": 201, "lead": 201, "member": 201, "other": 201, "admin": 201, "sa": 403, "anon": 401}, nil},
		{"POST", "/projects", func() string { return `{"name":"` + uniq("team") + `","owner":"team:devops"}` },
			map[string]int{"owner": 404, "lead": 201, "member": 201, "other": 404, "admin": 201, "sa": 403, "anon": 401}, nil},
		{"GET", "/projects", nil,
			map[string]int{"owner": 200, "lead": 200, "member": 200, "other": 200, "admin": 200, "sa": 200, "anon": 401}, nil},
		{"GET", "/projects/solo", nil,
			map[string]int{"owner": 200, "lead": 404, "member": 404, "other": 404, "admin": 200, "sa": 404, "anon": 401}, nil},
		{"GET", "/projects/ops", nil,
			map[string]int{"owner": 404, "lead": 200, "member": 200, "other": 404, "admin": 200, "sa": 200, "anon": 401}, nil},
		{"PATCH", "/projects/solo", static(`{"visibility":"private"}`),
			map[string]int{"owner": 200, "lead": 404, "member": 404, "other": 404, "admin": 200, "sa": 404, "anon": 401}, nil},
		{"PATCH", "/projects/ops", static(`{"visibility":"private"}`),
			map[string]int{"owner": 404, "lead": 200, "member": 200, "other": 404, "admin": 200, "sa": 403, "anon": 401}, nil},
		{"PATCH", "/projects/ops", static(`{"owner":"team:devops"}`),
			map[string]int{"owner": 404, "lead": 200, "member": 403, "other": 404, "admin": 200, "sa": 403, "anon": 401}, nil},
		{"DELETE", "/projects/solo", nil,
			map[string]int{"owner": 202, "lead": 404, "member": 404, "other": 404, "admin": 202, "sa": 404, "anon": 401}, undeleteAll},
		{"DELETE", "/projects/ops", nil,
			map[string]int{"owner": 404, "lead": 202, "member": 403, "other": 404, "admin": 202, "sa": 403, "anon": 401}, undeleteAll},
		{"GET", "/projects/missing", nil,
			map[string]int{"owner": 404, "lead": 404, "member": 404, "other": 404, "admin": 404, "sa": 404, "anon": 401}, nil},
		// teams
		{"POST", "/teams", func() string { return `{"name":"` + uniq("t") + `"}` },
			map[string]int{"owner": 201, "lead": 201, "member": 201, "other": 201, "admin": 201, "sa": 403, "anon": 401}, nil},
		{"GET", "/teams", nil,
			map[string]int{"owner": 200, "lead": 200, "member": 200, "other": 200, "admin": 200, "sa": 403, "anon": 401}, nil},
		{"GET", "/teams/devops", nil,
			map[string]int{"owner": 404, "lead": 200, "member": 200, "other": 404, "admin": 200, "sa": 403, "anon": 401}, nil},
		{"PATCH", "/teams/devops", static(`{"add_members":["member"]}`),
			map[string]int{"owner": 404, "lead": 200, "member": 403, "other": 404, "admin": 200, "sa": 403, "anon": 401}, nil},
		{"DELETE", "/teams/devops", nil, // still owns "ops"
			map[string]int{"owner": 404, "lead": 409, "member": 403, "other": 404, "admin": 409, "sa": 403, "anon": 401}, nil},
		{"DELETE", "/teams/spare", nil,
			map[string]int{"owner": 404, "lead": 204, "member": 403, "other": 404, "admin": 204, "sa": 403, "anon": 401}, recreateSpare},
		{"GET", "/users/me", nil,
			map[string]int{"owner": 200, "lead": 200, "member": 200, "other": 200, "admin": 200, "sa": 200, "anon": 401}, nil},
	}

	var failures []string
	for _, r := range rows {
		for _, who := range order {
			var body any
			if r.body != nil {
				body = r.body()
			}
			got, out := call(t, env, actors[who], r.method, r.path, body)
			if want := r.want[who]; got != want {
				failures = append(failures, fmt.Sprintf("%-6s %-16s as %-6s: got %d, want %d (%s)", r.method, r.path, who, got, want, strings.TrimSpace(string(out))))
			}
			if got >= 200 && got < 300 && r.after != nil {
				r.after()
			}
		}
	}
	if len(failures) > 0 {
		t.Fatalf("authorization matrix:\n%s", strings.Join(failures, "\n"))
	}

	// Not-yours looks exactly like missing: same status, same body shape, no suggestions.
	_, a := call(t, env, actors["other"], "GET", "/projects/solo", nil)
	_, b := call(t, env, actors["other"], "GET", "/projects/nothere", nil)
	if strings.Replace(string(a), "solo", "X", 1) != strings.Replace(string(b), "nothere", "X", 1) {
		t.Errorf("forbidden and missing differ:\n%s\n%s", a, b)
	}

	// Listings show exactly what each caller may read.
	wantVisible := map[string][]string{
		"owner": {"solo"}, "other": {}, "sa": {"ops"},
		"member": {"ops"}, "lead": {"ops"},
	}
	for who, want := range wantVisible {
		_, out := call(t, env, actors[who], "GET", "/projects?limit=1000", nil)
		var names []string
		for _, p := range decode[api.ProjectList](t, out).Projects {
			if !strings.HasPrefix(p.Name, "own-") && !strings.HasPrefix(p.Name, "team-") {
				names = append(names, p.Name)
			}
		}
		if !slices.Equal(names, want) && !(len(names) == 0 && len(want) == 0) {
			t.Errorf("%s lists %v, want %v", who, names, want)
		}
	}
	_, out := call(t, env, actors["admin"], "GET", "/projects?limit=1000", nil)
	if n := len(decode[api.ProjectList](t, out).Projects); n < 2+5+3 {
		t.Errorf("admin lists %d projects, want all", n)
	}
}
