package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) (*store.Store, string) {
	t.Helper()
	url := pgtest.URL(t)
	s, err := store.Open(context.Background(), url, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, url
}

func user(t *testing.T, s *store.Store, email string, admin bool) *identity.Identity {
	t.Helper()
	u, err := s.UpsertUser(context.Background(), email, "", admin)
	if err != nil {
		t.Fatalf("UpsertUser(%s): %v", email, err)
	}
	return &identity.Identity{UserID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin}
}

func TestMigrateIsIdempotentAndReportsVersion(t *testing.T) {
	ctx := context.Background()
	_, url := open(t)
	if err := store.Migrate(ctx, url, nil); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	latest, err := store.LatestVersion()
	if err != nil || latest < 1 {
		t.Fatalf("LatestVersion = %d, %v", latest, err)
	}
	v, dirty, err := store.SchemaVersion(ctx, url, nil)
	if err != nil || dirty || v != latest {
		t.Fatalf("SchemaVersion = %d dirty=%v err=%v, want %d", v, dirty, err, latest)
	}
}

func TestDirtyDatabaseStopsStartup(t *testing.T) {
	ctx := context.Background()
	s, url := open(t)
	if _, err := s.Pool().Exec(ctx, `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(ctx, url, nil)
	if err == nil || !strings.Contains(err.Error(), "dirty") || !strings.Contains(err.Error(), "rise server migrate --force") {
		t.Fatalf("Open on a dirty database: got %v, want an error explaining the fix", err)
	}
	v, _, _ := store.SchemaVersion(ctx, url, nil)
	if err := store.ForceVersion(ctx, url, int(v), nil); err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(ctx, url, nil)
	if err != nil {
		t.Fatalf("Open after force: %v", err)
	}
	s2.Close()
}

func TestNewerSchemaIsRefused(t *testing.T) {
	ctx := context.Background()
	s, url := open(t)
	if _, err := s.Pool().Exec(ctx, `UPDATE schema_migrations SET version = 9999`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(ctx, url, nil); err == nil || !strings.Contains(err.Error(), "newer than this rise binary") {
		t.Fatalf("got %v", err)
	}
}

func TestUpsertUserHandles(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	a, err := s.UpsertUser(ctx, "Niklas.R@Example.com", "", false)
	if err != nil || a.Name != "niklas-r" || a.Email != "niklas.r@example.com" {
		t.Fatalf("first: %+v %v", a, err)
	}
	b, err := s.UpsertUser(ctx, "niklas.r@other.org", "", false)
	if err != nil || b.Name != "niklas-r-2" {
		t.Fatalf("duplicate handle: %+v %v", b, err)
	}
	again, err := s.UpsertUser(ctx, "niklas.r@example.com", "Someone Else", true)
	if err != nil || again.ID != a.ID || again.Name != "niklas-r" || !again.Admin {
		t.Fatalf("re-login: %+v %v", again, err)
	}
	got, err := s.UserByID(ctx, a.ID)
	if err != nil || got.Email != a.Email {
		t.Fatalf("UserByID: %+v %v", got, err)
	}
	if _, err := s.UserByID(ctx, "not-a-uuid"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByID(bad) = %v", err)
	}
	if _, err := s.UpsertUser(ctx, "no-at-sign", "", false); err == nil {
		t.Fatal("UpsertUser accepted a non-email")
	}
	if h := store.Handle("  ---Ünïcode__Name!!  "); h != "n-code-name" {
		t.Errorf("Handle = %q", h)
	}
}

func TestConcurrentUpsertSameUser(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			u, err := s.UpsertUser(ctx, "same@example.com", "", false)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = u.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent logins created different users: %v", ids)
		}
	}
}

func TestProjectForRule(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	owner := user(t, s, "owner@example.com", false)
	lead := user(t, s, "lead@example.com", false)
	member := user(t, s, "member@example.com", false)
	other := user(t, s, "other@example.com", false)
	admin := user(t, s, "admin@example.com", true)
	if _, err := s.CreateTeam(ctx, lead, "devops", nil, []string{"member"}); err != nil {
		t.Fatal(err)
	}
	mine, err := s.CreateProject(ctx, owner, store.NewProject{Name: "mine"})
	if err != nil || mine.Owner != "user:owner" || mine.Visibility != "public" || mine.Status != "stopped" {
		t.Fatalf("create mine: %+v %v", mine, err)
	}
	teamP, err := s.CreateProject(ctx, member, store.NewProject{Name: "ops", Owner: "team:devops", AccessClass: "private"})
	if err != nil || teamP.Owner != "team:devops" || teamP.OwnerTeamID == nil {
		t.Fatalf("create ops: %+v %v", teamP, err)
	}
	sa := &identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "sa1", ProjectID: teamP.ID, Project: "ops"}}

	all := []store.Access{store.AccessRead, store.AccessWrite, store.AccessDeploy, store.AccessDelete}
	cases := []struct {
		who     string
		id      *identity.Identity
		project string
		allowed []store.Access
	}{
		{"owner", owner, "mine", all},
		{"other on mine", other, "mine", nil},
		{"member on mine", member, "mine", nil},
		{"admin", admin, "mine", all},
		{"team member", member, "ops", []store.Access{store.AccessRead, store.AccessWrite, store.AccessDeploy}},
		{"team owner", lead, "ops", all},
		{"other on ops", other, "ops", nil},
		{"service account", sa, "ops", []store.Access{store.AccessRead, store.AccessDeploy}},
		{"service account elsewhere", sa, "mine", nil},
		{"anonymous", nil, "ops", nil},
	}
	for _, c := range cases {
		for _, a := range all {
			_, err := s.ProjectFor(ctx, c.id, c.project, a)
			want := false
			for _, x := range c.allowed {
				want = want || x == a
			}
			if want && err != nil {
				t.Errorf("%s %s %s: got %v, want access", c.who, a, c.project, err)
			}
			if !want && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s %s %s: got %v, want ErrNotFound", c.who, a, c.project, err)
			}
		}
	}
	if _, err := s.ProjectFor(ctx, admin, "missing", store.AccessRead); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing project: %v", err)
	}

	if _, err := s.MarkProjectDeleting(ctx, member, "ops"); !errors.Is(err, store.ErrForbidden) {
		t.Errorf("member delete: %v", err)
	}
	if p, err := s.MarkProjectDeleting(ctx, lead, "ops"); err != nil || p.Status != store.StatusDeleting {
		t.Fatalf("team owner delete: %+v %v", p, err)
	}
	if _, err := s.ProjectFor(ctx, member, "ops", store.AccessDeploy); !errors.Is(err, store.ErrDeleting) {
		t.Errorf("deploy to deleting project: %v", err)
	}
	if err := s.SetProjectStatus(ctx, teamP.ID, store.StatusRunning); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.ProjectByName(ctx, "ops"); p.Status != store.StatusDeleting {
		t.Errorf("status overwrote deleting: %s", p.Status)
	}
	if err := s.PurgeProject(ctx, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("purge of a live project: %v", err)
	}
	if err := s.PurgeProject(ctx, teamP.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ProjectByName(ctx, "ops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after purge: %v", err)
	}
}

func TestConstraintsHoldInvariants(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	u := user(t, s, "u@example.com", false)
	bad := []string{
		`INSERT INTO projects (name) VALUES ('no-owner')`,
		`INSERT INTO projects (name, owner_user_id) VALUES ('Bad_Name', '` + u.UserID + `')`,
		`INSERT INTO projects (name, owner_user_id, visibility) VALUES ('x', '` + u.UserID + `', 'secret')`,
		`INSERT INTO projects (name, owner_user_id, status) VALUES ('y', '` + u.UserID + `', 'weird')`,
		`INSERT INTO users (email, name) VALUES ('U@example.com', 'caps')`,
	}
	for _, q := range bad {
		err := s.Tx(ctx, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, q); return err })
		if err == nil {
			t.Errorf("accepted: %s", q)
		}
	}
}

func TestConcurrentCreateOneWins(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	ids := []*identity.Identity{user(t, s, "a@example.com", false), user(t, s, "b@example.com", false)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, conflict int
	for i := range 10 {
		wg.Go(func() {
			_, err := s.CreateProject(ctx, ids[i%2], store.NewProject{Name: "race"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
				conflict++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || conflict != 9 {
		t.Fatalf("ok=%d conflict=%d, want 1 and 9", ok, conflict)
	}
}

// TestCreateTeamListingTheCaller: naming yourself (twice, even) among the
// owners of a new team is fine; you are one owner.
func TestCreateTeamListingTheCaller(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	lead := user(t, s, "lead@example.com", false)
	user(t, s, "dev@example.com", false)
	if _, err := s.CreateTeam(ctx, lead, "platform", []string{"lead", "lead@example.com"}, []string{"dev", "dev"}); err != nil {
		t.Fatalf("create team with the caller among the owners: %v", err)
	}
}
