package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/servertest"
)

func TestTeamLifecycle(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	alice := env.User(t, "alice@example.com", false)
	env.User(t, "bob@example.com", false)
	env.User(t, "carol@example.com", false)
	c := alice.Client

	tm, err := c.CreateTeam(ctx, api.CreateTeamRequest{Name: "devops", Owners: []string{"bob"}, Members: []string{"carol@example.com", "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tm.Owners, []string{"alice", "bob"}) || !slices.Equal(tm.Members, []string{"carol"}) {
		t.Fatalf("created %+v", tm)
	}
	status, body := call(t, env, alice, "POST", "/teams", `{"name":"devops"}`)
	if status != 409 || !strings.Contains(apiErr(t, body).Message, "already taken") {
		t.Fatalf("duplicate: %d %s", status, body)
	}
	status, body = call(t, env, alice, "POST", "/teams", `{"name":"qa","members":["nobody","carol"]}`)
	if status != 400 || !strings.Contains(apiErr(t, body).Message, "nobody") {
		t.Fatalf("unknown user: %d %s", status, body)
	}
	if _, err := c.GetTeam(ctx, "qa"); api.StatusOf(err) != 404 {
		t.Fatalf("failed create left a team behind: %v", err)
	}

	// Rename, promote carol, demote bob.
	newName := "platform"
	tm, err = c.UpdateTeam(ctx, "devops", api.UpdateTeamRequest{Name: &newName, AddOwners: []string{"carol"}, RemoveOwners: []string{"bob"}})
	if err != nil || tm.Name != "platform" || !slices.Equal(tm.Owners, []string{"alice", "carol"}) || !slices.Equal(tm.Members, []string{"bob"}) {
		t.Fatalf("update: %+v %v", tm, err)
	}
	// Removing every owner is refused, atomically.
	status, body = call(t, env, alice, "PATCH", "/teams/platform", `{"add_members":["bob"],"remove_members":["alice","carol"]}`)
	if status != 409 || !strings.Contains(apiErr(t, body).Message, "at least one owner") {
		t.Fatalf("last owner: %d %s", status, body)
	}
	if tm, _ := c.GetTeam(ctx, "platform"); len(tm.Owners) != 2 {
		t.Fatalf("refused change was partly applied: %+v", tm)
	}
	status, body = call(t, env, alice, "PATCH", "/teams/platform", `{"name":"Bad Name"}`)
	if status != 400 {
		t.Fatalf("bad rename: %d %s", status, body)
	}

	// Teams in /users/me, listing, and the typo suggestion.
	me, err := c.Me(ctx)
	if err != nil || me.Name != "alice" || !slices.Equal(me.Teams, []string{"platform"}) || me.Admin {
		t.Fatalf("me: %+v %v", me, err)
	}
	l, err := c.ListTeams(ctx, "")
	if err != nil || len(l.Teams) != 1 || l.Teams[0].Name != "platform" {
		t.Fatalf("list: %+v %v", l, err)
	}
	status, body = call(t, env, alice, "GET", "/teams/platfrom", nil)
	if e := apiErr(t, body); status != 404 || !slices.Equal(e.Suggestions, []string{"platform"}) {
		t.Fatalf("typo: %d %s", status, body)
	}

	// A team with projects cannot be deleted; the message names them.
	if _, err := c.CreateProject(ctx, api.CreateProjectRequest{Name: "web", Owner: "team:platform"}); err != nil {
		t.Fatal(err)
	}
	status, body = call(t, env, alice, "DELETE", "/teams/platform", nil)
	if status != 409 || !strings.Contains(apiErr(t, body).Message, "still owns projects (web)") {
		t.Fatalf("delete with projects: %d %s", status, body)
	}
	if _, err := env.Store.Pool().Exec(ctx, `DELETE FROM projects`); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTeam(ctx, "platform"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.GetTeam(ctx, "platform"); api.StatusOf(err) != 404 {
		t.Fatalf("after delete: %v", err)
	}
}

func TestServiceAccountMe(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	u := env.User(t, "ci@example.com", false)
	if _, err := u.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "svc"}); err != nil {
		t.Fatal(err)
	}
	sa := env.ServiceAccount(t, "svc")
	me, err := sa.Client.Me(ctx)
	if err != nil || me.ServiceAccount != "svc" || me.Name != "" || me.Teams == nil {
		t.Fatalf("sa me: %+v %v", me, err)
	}
}

func TestTeamPagination(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	admin := env.User(t, "root@example.com", true)
	for _, n := range []string{"t1", "t2", "t3"} {
		if _, err := admin.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	_, body := call(t, env, admin, "GET", "/teams?limit=2", nil)
	l := decode[api.TeamList](t, body)
	if len(l.Teams) != 2 || l.NextCursor == "" {
		t.Fatalf("page 1: %+v", l)
	}
	_, body = call(t, env, admin, "GET", "/teams?limit=2&cursor="+l.NextCursor, nil)
	if l2 := decode[api.TeamList](t, body); len(l2.Teams) != 1 || l2.Teams[0].Name != "t3" || l2.NextCursor != "" {
		t.Fatalf("page 2: %+v", l2)
	}
}
