package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/migrations"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// migrateTo brings a fresh database to schema version v with golang-migrate.
func migrateTo(t *testing.T, url string, v uint) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Migrate(v); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		t.Fatalf("migrate to %d: %v", v, err)
	}
}

// TestMigrationKeepsVisibility builds a database with the schema before
// access classes (version 8), stores projects of both visibilities, then
// migrates to the newest schema: public stays public, private becomes the
// private class, visibility still reads as before, and the edge's
// notification fires for a change between non-public classes.
func TestMigrationKeepsVisibility(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	migrateTo(t, url, 8)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO users (id, email, name) VALUES ('00000000-0000-0000-0000-000000000001', 'o@example.com', 'o');
		INSERT INTO projects (name, visibility, owner_user_id) VALUES
			('open', 'public', '00000000-0000-0000-0000-000000000001'),
			('closed', 'private', '00000000-0000-0000-0000-000000000001'),
			('defaulted', DEFAULT, '00000000-0000-0000-0000-000000000001')`); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, url, hclog.NewNullLogger()) // migrates to the newest version
	if err != nil {
		t.Fatalf("Open (migrate up): %v", err)
	}
	defer s.Close()
	for name, want := range map[string][2]string{"open": {"public", "public"}, "closed": {"private", "private"}, "defaulted": {"public", "public"}} {
		p, err := s.ProjectByName(ctx, name)
		if err != nil || p.AccessClass != want[0] || p.Visibility != want[1] {
			t.Errorf("%s after migration: %+v %v, want class %s visibility %s", name, p, err, want[0], want[1])
		}
	}
	// visibility is derived: it follows the class; a writer of the old
	// column still sets the class it means.
	if _, err := s.Pool().Exec(ctx, `UPDATE projects SET access_class = 'authenticated' WHERE name = 'open'`); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ProjectByName(ctx, "open"); p.Visibility != "private" {
		t.Errorf("visibility of an authenticated project = %q, want private", p.Visibility)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE projects SET visibility = 'public' WHERE name = 'closed'`); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ProjectByName(ctx, "closed"); p.AccessClass != "public" || p.Visibility != "public" {
		t.Errorf("old writer made it public: %+v", p)
	}
	if _, err := s.Pool().Exec(ctx, `INSERT INTO projects (name, visibility, owner_user_id) VALUES ('old-writer', 'private', '00000000-0000-0000-0000-000000000001')`); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ProjectByName(ctx, "old-writer"); p.AccessClass != "private" || p.Visibility != "private" {
		t.Errorf("old writer's private project: %+v", p)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE projects SET access_class = 'Not A Class' WHERE name = 'open'`); err == nil {
		t.Error("an access class that is not a DNS label was stored")
	}
	// authenticated → internal leaves visibility alone and still notifies the edge.
	if _, err := conn.Exec(ctx, `LISTEN rise_routes`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE projects SET access_class = 'internal' WHERE name = 'open'`); err != nil {
		t.Fatal(err)
	}
	p, _ := s.ProjectByName(ctx, "open")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(wctx)
	if err != nil || n.Payload != "p:"+p.ID {
		t.Fatalf("notification after a class change: %v %v, want p:%s", n, err, p.ID)
	}
	// Down to 8 and up again: every class that needed a login is private,
	// and comes back as the private class.
	s.Close()
	migrateTo(t, url, 8)
	var vis string
	if err := conn.QueryRow(ctx, `SELECT visibility FROM projects WHERE name = 'open'`).Scan(&vis); err != nil || vis != "private" {
		t.Fatalf("after down: %q %v", vis, err)
	}
	migrateTo(t, url, 12)
	var class string
	if err := conn.QueryRow(ctx, `SELECT access_class FROM projects WHERE name = 'open'`).Scan(&class); err != nil || class != "private" {
		t.Fatalf("after down and up: %q %v", class, err)
	}
}

func TestAppUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	owner := user(t, s, "owner@example.com", false)
	carol := user(t, s, "carol@example.com", false)
	mallory := user(t, s, "mallory@example.com", false)
	if _, err := s.CreateTeam(ctx, carol, "finance", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, owner, store.NewProject{Name: "ledger", AccessClass: "private"}); err != nil {
		t.Fatal(err)
	}
	a, err := s.AddAppUser(ctx, owner, "ledger", "user:carol@example.com")
	if err != nil || a.Subject != "user:carol" || a.Email != "carol@example.com" {
		t.Fatalf("add user: %+v %v", a, err)
	}
	if _, err := s.AddAppUser(ctx, owner, "ledger", "user:carol"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("add twice: %v", err)
	}
	if _, err := s.AddAppUser(ctx, owner, "ledger", "team:finance"); err != nil {
		t.Fatal(err)
	}
	var unknown *store.UnknownUsersError
	if _, err := s.AddAppUser(ctx, owner, "ledger", "user:nobody@example.com"); !errors.As(err, &unknown) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := s.AddAppUser(ctx, owner, "ledger", "team:nope"); !errors.Is(err, store.ErrUnknownTeam) {
		t.Errorf("unknown team: %v", err)
	}
	list, err := s.ListAppUsers(ctx, owner, "ledger")
	if err != nil || len(list) != 2 || list[0].Subject != "user:carol" || list[1].Subject != "team:finance" {
		t.Fatalf("list: %+v %v", list, err)
	}

	// An app user has no right on the project: it is not found to them.
	for _, a := range []store.Access{store.AccessRead, store.AccessWrite, store.AccessDeploy, store.AccessDelete} {
		if _, err := s.ProjectFor(ctx, carol, "ledger", a); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("app user %s: %v, want not found", a, err)
		}
	}
	if _, err := s.ListAppUsers(ctx, carol, "ledger"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("app user lists app users: %v", err)
	}
	if ps, _ := s.ListProjects(ctx, carol, "", 100); len(ps) != 0 {
		t.Errorf("app user lists %v", ps)
	}
	// A stranger sees nothing and changes nothing.
	if _, err := s.AddAppUser(ctx, mallory, "ledger", "user:mallory"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stranger adds themselves: %v", err)
	}
	if err := s.RemoveAppUser(ctx, mallory, "ledger", "user:carol"); !errors.Is(err, store.ErrNotFound) || store.ErrNoGrant(err) {
		t.Errorf("stranger removes: %v", err)
	}
	if _, err := s.ListAppUsers(ctx, mallory, "ledger"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stranger lists: %v", err)
	}
	// A service account of the project reads but never manages app users.
	sa := saOf(t, s, "ledger")
	if _, err := s.AddAppUser(ctx, sa, "ledger", "user:mallory"); !errors.Is(err, store.ErrForbidden) {
		t.Errorf("service account adds: %v", err)
	}

	if err := s.RemoveAppUser(ctx, owner, "ledger", "user:carol"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAppUser(ctx, owner, "ledger", "user:carol"); !store.ErrNoGrant(err) {
		t.Errorf("remove twice: %v", err)
	}
	if err := s.RemoveAppUser(ctx, owner, "ledger", "user:ghost"); !store.ErrNoGrant(err) {
		t.Errorf("remove an unknown user: %v", err)
	}
}

func TestTeamSync(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	admin := user(t, s, "root@example.com", true)
	niklas := user(t, s, "niklas@example.com", false)
	eve := user(t, s, "eve@example.com", false)
	// Eve made a team by hand with a group's name before anyone synced it.
	if _, err := s.CreateTeam(ctx, eve, "payroll", nil, nil); err != nil {
		t.Fatal(err)
	}

	res, err := s.SyncTeams(ctx, niklas.UserID, "dex", []string{"web", "ops", "payroll"})
	if err != nil || !slices.Equal(res.Created, []string{"web", "ops"}) || !slices.Equal(res.Joined, []string{"web", "ops"}) ||
		len(res.Left) != 0 || !slices.Equal(res.Skipped, []string{"payroll"}) {
		t.Fatalf("first sync: %+v %v", res, err)
	}
	web, err := s.TeamFor(ctx, niklas, "web")
	if err != nil || web.ManagedBy != "oidc:dex" || !slices.Equal(web.Members, []string{"niklas"}) || len(web.Owners) != 0 {
		t.Fatalf("synced team: %+v %v", web, err)
	}
	if _, err := s.TeamFor(ctx, niklas, "payroll"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a hand team with a group's name was joined: %v", err)
	}
	// Same groups again: nothing changes.
	if res, err := s.SyncTeams(ctx, niklas.UserID, "dex", []string{"web", "ops"}); err != nil || res.Changed() {
		t.Errorf("second sync: %+v %v", res, err)
	}

	// An admin keeps niklas as an owner of ops by hand; nobody edits members.
	if _, err := s.UpdateTeam(ctx, admin, "ops", store.TeamChange{AddOwners: []string{"niklas"}}); err != nil {
		t.Fatalf("admin adds an owner: %v", err)
	}
	for who, ch := range map[string]store.TeamChange{
		"add member": {AddMembers: []string{"eve"}}, "remove member": {RemoveMembers: []string{"niklas"}}, "rename": {Rename: "ops2"},
	} {
		if _, err := s.UpdateTeam(ctx, admin, "ops", ch); !errors.Is(err, store.ErrManagedTeam) {
			t.Errorf("admin %s of a managed team: %v", who, err)
		}
	}
	if _, err := s.UpdateTeam(ctx, niklas, "ops", store.TeamChange{AddMembers: []string{"eve"}}); !errors.Is(err, store.ErrManagedTeam) {
		t.Errorf("owner adds a member to a managed team: %v", err)
	}
	if err := s.DeleteTeam(ctx, admin, "web"); !errors.Is(err, store.ErrManagedTeam) {
		t.Errorf("delete a managed team: %v", err)
	}
	// A stranger still sees nothing.
	if _, err := s.UpdateTeam(ctx, eve, "ops", store.TeamChange{AddOwners: []string{"eve"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stranger: %v", err)
	}

	// niklas leaves both groups: leaves web, stays owner of ops.
	res, err = s.SyncTeams(ctx, niklas.UserID, "dex", nil)
	if err != nil || !slices.Equal(res.Left, []string{"web"}) {
		t.Fatalf("sync without groups: %+v %v", res, err)
	}
	if _, err := s.TeamFor(ctx, niklas, "web"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("still in web: %v", err)
	}
	ops, err := s.TeamFor(ctx, niklas, "ops")
	if err != nil || !slices.Equal(ops.Owners, []string{"niklas"}) {
		t.Fatalf("owner kept by hand: %+v %v", ops, err)
	}
	// Another provider's group of the same name does not touch dex's team.
	if res, err := s.SyncTeams(ctx, eve.UserID, "corp", []string{"ops"}); err != nil || !slices.Equal(res.Skipped, []string{"ops"}) {
		t.Errorf("other provider: %+v %v", res, err)
	}
	if err := s.SetUserGroups(ctx, niklas.UserID, []string{"staff"}); err != nil {
		t.Fatal(err)
	}
	var groups []string
	if err := s.Pool().QueryRow(ctx, `SELECT idp_groups FROM users WHERE id = $1`, niklas.UserID).Scan(&groups); err != nil || strings.Join(groups, ",") != "staff" {
		t.Errorf("groups: %v %v", groups, err)
	}
}

// saOf is a service account identity bound to project.
func saOf(t *testing.T, s *store.Store, project string) *identity.Identity {
	t.Helper()
	p, err := s.ProjectByName(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	return &identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "sa-" + project, ProjectID: p.ID, Project: project}}
}

// TestMigrationsRoundTrip: every migration's down undoes its up, in
// order, on a database that has them all (later migrations depend on the
// tables of earlier ones), and the whole schema comes back up.
func TestMigrationsRoundTrip(t *testing.T) {
	url := pgtest.URL(t)
	latest, err := store.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	migrateTo(t, url, latest)
	for v := latest - 1; v >= 1; v-- {
		migrateTo(t, url, v)
	}
	migrateTo(t, url, latest)
	s, err := store.Open(context.Background(), url, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("Open after the round trip: %v", err)
	}
	s.Close()
}
