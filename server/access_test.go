package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/servertest"
)

// TestTeamsPolicy: server.hcl teams { create = "admins"  list_all = true }.
func TestTeamsPolicy(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t, func(c *config.Server, _ *server.Deps) {
		c.Teams = &config.TeamsPolicy{Create: config.TeamCreateAdmins, ListAll: true}
	})
	root := env.User(t, "root@example.com", true)
	alice := env.User(t, "alice@example.com", false)
	bob := env.User(t, "bob@example.com", false)
	status, body := call(t, env, alice, "POST", "/teams", `{"name":"mine"}`)
	if status != 403 || apiErr(t, body).Message != "Only admins can create teams on this server." {
		t.Fatalf("non-admin creates a team: %d %s", status, body)
	}
	if _, err := root.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "finance", Members: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	// Everyone lists every team, including those they are not in...
	l, err := bob.Client.ListTeams(ctx, "")
	if err != nil || len(l.Teams) != 1 || l.Teams[0].Name != "finance" {
		t.Fatalf("bob lists: %+v %v", l, err)
	}
	// ...but listing gives no right on them.
	if _, err := bob.Client.UpdateTeam(ctx, "finance", api.UpdateTeamRequest{AddMembers: []string{"bob"}}); api.StatusOf(err) != 404 {
		t.Errorf("bob joins a listed team: %v", err)
	}

	// Without the policy, users list only their own teams and anyone creates teams.
	plain := servertest.New(t)
	carol := plain.User(t, "carol@example.com", false)
	dave := plain.User(t, "dave@example.com", false)
	if _, err := carol.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	if l, err := dave.Client.ListTeams(ctx, ""); err != nil || len(l.Teams) != 0 {
		t.Errorf("dave lists others' teams: %+v %v", l, err)
	}
}

// TestProjectAccessAPI: access classes through the projects API, with
// visibility as the old name of access.
func TestProjectAccessAPI(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t, func(c *config.Server, _ *server.Deps) {
		c.Access = &config.Access{Classes: []*config.AccessClass{{Name: "internal", Groups: []string{"employees"}}}}
	})
	alice := env.User(t, "alice@example.com", false)
	for _, tc := range []struct{ body, access, visibility string }{
		{`{"name":"a1"}`, "public", "public"},
		{`{"name":"a2","visibility":"private"}`, "private", "private"},
		{`{"name":"a3","access":"authenticated"}`, "authenticated", "private"},
		{`{"name":"a4","access":"internal"}`, "internal", "private"},
		{`{"name":"a5","access":"public","visibility":"public"}`, "public", "public"},
	} {
		status, body := call(t, env, alice, "POST", "/projects", tc.body)
		p := decode[api.Project](t, body)
		if status != 201 || p.Access != tc.access || p.Visibility != tc.visibility {
			t.Errorf("%s: %d %s", tc.body, status, body)
		}
	}
	for body, want := range map[string]string{
		`{"name":"b1","access":"internl"}`:                       `access "internl" is not an access class of this server; classes: public, authenticated, private, internal`,
		`{"name":"b2","visibility":"authenticated"}`:             `visibility must be "public" or "private", not "authenticated"`,
		`{"name":"b3","access":"private","visibility":"public"}`: `access "private" and visibility "public" disagree; send only access`,
		`{"name":"b4","access":"Internal; DROP TABLE projects"}`: `is not an access class of this server`,
	} {
		status, b := call(t, env, alice, "POST", "/projects", body)
		if e := apiErr(t, b); status != 400 || !strings.Contains(e.Message, want) {
			t.Errorf("%s: %d %s, want 400 %q", body, status, b, want)
		}
	}
	if _, b := call(t, env, alice, "POST", "/projects", `{"name":"b1","access":"internl"}`); !strings.Contains(string(b), `"internal"`) {
		t.Errorf("no suggestion for a misspelt class: %s", b)
	}
	auth := "authenticated"
	if p, err := alice.Client.UpdateProject(ctx, "a2", api.UpdateProjectRequest{Access: &auth}); err != nil || p.Access != auth || p.Visibility != "private" {
		t.Errorf("update access: %+v %v", p, err)
	}
	empty := ""
	if _, err := alice.Client.UpdateProject(ctx, "a2", api.UpdateProjectRequest{Access: &empty}); api.StatusOf(err) != 400 {
		t.Errorf("empty access: %v", err)
	}
	// Another tenant cannot see or change the class.
	mallory := env.User(t, "mallory@example.com", false)
	pub := "public"
	if _, err := mallory.Client.UpdateProject(ctx, "a2", api.UpdateProjectRequest{Access: &pub}); api.StatusOf(err) != 404 {
		t.Errorf("stranger changes access: %v", err)
	}
}
