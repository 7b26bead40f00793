package edge_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server/edge"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// routeDB is a migrated database with users alice (owner of the public
// project pub), bob (member of team ops, which owns the private project
// priv), carol (nobody) and an admin.
type routeDB struct {
	pool                   *pgxpool.Pool
	alice, bob, carol, adm *identity.Identity
	pub, priv, ops         string // ids
}

func newRouteDB(t *testing.T, url string) *routeDB {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	db := &routeDB{pool: st.Pool()}
	user := func(name string, admin bool) *identity.Identity {
		var id string
		db.exec(t, "INSERT INTO users (email, name, admin) VALUES ($1, $2, $3) RETURNING id", name+"@example.com", name, admin)
		if err := db.pool.QueryRow(ctx, "SELECT id FROM users WHERE name = $1", name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return &identity.Identity{UserID: id, Name: name, Email: name + "@example.com", Admin: admin}
	}
	db.alice, db.bob, db.carol, db.adm = user("alice", false), user("bob", false), user("carol", false), user("root", true)
	db.ops = db.id(t, "INSERT INTO teams (name) VALUES ('ops') RETURNING id")
	db.exec(t, "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'member')", db.ops, db.bob.UserID)
	db.pub = db.id(t, "INSERT INTO projects (name, visibility, owner_user_id) VALUES ('pub', 'public', $1) RETURNING id", db.alice.UserID)
	db.priv = db.id(t, "INSERT INTO projects (name, visibility, owner_team_id) VALUES ('priv', 'private', $1) RETURNING id", db.ops)
	db.exec(t, `INSERT INTO deployments (project_id, deployment_id, state, active, upstreams)
		VALUES ($1, '20260101-000000', 'Healthy', true, '{http://127.0.0.1:1001}'),
		       ($2, '20260101-000000', 'Healthy', true, '{http://127.0.0.1:2001,http://127.0.0.1:2002}')`, db.pub, db.priv)
	return db
}

func (db *routeDB) id(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var id string
	if err := db.pool.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return id
}

func (db *routeDB) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := db.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// runTable starts a route table (one edge replica) on pool.
func runTable(t *testing.T, pool *pgxpool.Pool, resync time.Duration) *edge.Table {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	tbl, err := edge.NewTable(ctx, edge.TableOptions{Pool: pool, Resync: resync,
		Log: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}})})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = tbl.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return tbl
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
	}
}

func upstreams(tbl *edge.Table, project string) []string {
	r, err := tbl.Lookup(context.Background(), project)
	if err != nil {
		return []string{err.Error()}
	}
	return r.Upstreams
}

func canAccess(tbl *edge.Table, id *identity.Identity, project string) bool {
	ok, err := tbl.CanAccess(context.Background(), id, project)
	return ok && err == nil
}

// TestRouteTable: two edge replicas serve routes and access decisions from
// memory and follow every change through the notifications (the periodic
// resync is an hour here, so it cannot be what updates them).
func TestRouteTable(t *testing.T) {
	db := newRouteDB(t, pgtest.URL(t))
	a, b := runTable(t, db.pool, time.Hour), runTable(t, db.pool, time.Hour)
	for _, tbl := range []*edge.Table{a, b} {
		r, err := tbl.Lookup(context.Background(), "priv")
		if err != nil || !r.Private || r.Deployment != "20260101-000000" || len(r.Upstreams) != 2 {
			t.Fatalf("priv route: %+v %v", r, err)
		}
		if _, err := tbl.Lookup(context.Background(), "nothing"); !errors.Is(err, edge.ErrUnknownProject) {
			t.Fatalf("unknown project: %v", err)
		}
		for _, tc := range []struct {
			id      *identity.Identity
			project string
			want    bool
		}{
			{db.bob, "priv", true},    // team member
			{db.alice, "priv", false}, // owns another project only
			{db.carol, "priv", false},
			{db.adm, "priv", true},
			{nil, "priv", false},
			{db.alice, "pub", true}, // owner
			{db.bob, "pub", true},   // public: anyone may use it
			{db.bob, "nothing", false},
			{&identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "s", ProjectID: db.priv}}, "priv", true},
			{&identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "s", ProjectID: db.pub}}, "priv", false},
			{&identity.Identity{UserID: db.bob.UserID, ServiceAccount: &identity.ServiceAccount{ID: "s", ProjectID: db.pub}}, "priv", false},
		} {
			if got := canAccess(tbl, tc.id, tc.project); got != tc.want {
				t.Errorf("CanAccess(%s, %s) = %v, want %v", tc.id.Subject(), tc.project, got, tc.want)
			}
		}
	}
	both := func(what string, cond func(*edge.Table) bool) {
		t.Helper()
		eventually(t, what, func() bool { return cond(a) && cond(b) })
	}

	// Team membership.
	db.exec(t, "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'owner')", db.ops, db.carol.UserID)
	both("carol joins ops", func(tbl *edge.Table) bool { return canAccess(tbl, db.carol, "priv") })
	db.exec(t, "DELETE FROM team_members WHERE user_id = $1", db.bob.UserID)
	both("bob leaves ops", func(tbl *edge.Table) bool { return !canAccess(tbl, db.bob, "priv") })

	// Ownership and visibility.
	db.exec(t, "UPDATE projects SET owner_team_id = NULL, owner_user_id = $2 WHERE id = $1", db.priv, db.alice.UserID)
	both("priv moves to alice", func(tbl *edge.Table) bool {
		return canAccess(tbl, db.alice, "priv") && !canAccess(tbl, db.carol, "priv")
	})
	// App users, app teams and access classes (migration 0012's notifications).
	db.exec(t, "INSERT INTO project_app_users (project_id, user_id) VALUES ($1, $2)", db.priv, db.carol.UserID)
	both("carol is an app user of priv", func(tbl *edge.Table) bool { return canAccess(tbl, db.carol, "priv") })
	db.exec(t, "DELETE FROM project_app_users WHERE project_id = $1", db.priv)
	both("carol's grant is withdrawn", func(tbl *edge.Table) bool { return !canAccess(tbl, db.carol, "priv") })
	db.exec(t, "INSERT INTO project_app_users (project_id, team_id) VALUES ($1, $2)", db.priv, db.ops)
	both("ops (carol's team) is an app team of priv", func(tbl *edge.Table) bool { return canAccess(tbl, db.carol, "priv") })
	db.exec(t, "DELETE FROM project_app_users WHERE project_id = $1", db.priv)
	both("ops's grant is withdrawn", func(tbl *edge.Table) bool { return !canAccess(tbl, db.carol, "priv") })
	db.exec(t, "UPDATE projects SET access_class = 'authenticated' WHERE id = $1", db.priv)
	both("priv admits every logged-in user", func(tbl *edge.Table) bool {
		r, _ := tbl.Lookup(context.Background(), "priv")
		return r != nil && r.Private && canAccess(tbl, db.bob, "priv") && !canAccess(tbl, nil, "priv")
	})
	db.exec(t, "UPDATE projects SET access_class = 'internal' WHERE id = $1", db.priv) // a class this server does not define
	both("an unknown class admits only insiders", func(tbl *edge.Table) bool {
		return !canAccess(tbl, db.bob, "priv") && canAccess(tbl, db.alice, "priv")
	})
	db.exec(t, "UPDATE projects SET access_class = 'private' WHERE id = $1", db.priv)
	db.exec(t, "UPDATE projects SET visibility = 'public' WHERE id = $1", db.priv)
	both("priv turns public", func(tbl *edge.Table) bool {
		r, _ := tbl.Lookup(context.Background(), "priv")
		return r != nil && !r.Private
	})

	// A new deployment takes over; a second group does not change the app's route.
	db.exec(t, `UPDATE deployments SET active = false, state = 'Superseded' WHERE project_id = $1`, db.pub)
	db.exec(t, `INSERT INTO deployments (project_id, deployment_id, state, active, upstreams)
		VALUES ($1, '20260102-000000', 'Healthy', true, '{http://127.0.0.1:1002}')`, db.pub)
	db.exec(t, `INSERT INTO deployments (project_id, deployment_id, deployment_group, state, active, upstreams)
		VALUES ($1, '20260103-000000', 'staging', 'Healthy', true, '{http://127.0.0.1:1003}')`, db.pub)
	both("pub's new deployment", func(tbl *edge.Table) bool {
		return slices.Equal(upstreams(tbl, "pub"), []string{"http://127.0.0.1:1002"})
	})
	db.exec(t, `UPDATE deployments SET active = false, state = 'Stopped' WHERE project_id = $1`, db.pub)
	both("pub stopped", func(tbl *edge.Table) bool { return len(upstreams(tbl, "pub")) == 0 })

	// Created, renamed, being deleted, deleted.
	id := db.id(t, "INSERT INTO projects (name, visibility, owner_user_id) VALUES ('fresh', 'private', $1) RETURNING id", db.carol.UserID)
	both("fresh appears", func(tbl *edge.Table) bool { return canAccess(tbl, db.carol, "fresh") })
	db.exec(t, "UPDATE projects SET name = 'renamed' WHERE id = $1", id)
	both("fresh renamed", func(tbl *edge.Table) bool {
		_, err := tbl.Lookup(context.Background(), "fresh")
		return errors.Is(err, edge.ErrUnknownProject) && canAccess(tbl, db.carol, "renamed")
	})
	db.exec(t, "UPDATE projects SET status = 'deleting' WHERE id = $1", id)
	both("renamed being deleted", func(tbl *edge.Table) bool {
		_, err := tbl.Lookup(context.Background(), "renamed")
		return errors.Is(err, edge.ErrUnknownProject) && !canAccess(tbl, db.carol, "renamed")
	})
	db.exec(t, "DELETE FROM projects WHERE id = $1", id)
	both("renamed deleted", func(tbl *edge.Table) bool { return a.Stats().Projects == 2 })
}

// TestRouteTableFailStatic: with PostgreSQL stopped the edge keeps serving
// the last known routes and sessions (0 errors), says so, and catches up
// on what changed meanwhile once the database is back.
// RISE_EDGE_FAILSTATIC_SECONDS sets how long PostgreSQL stays down (3).
func TestRouteTableFailStatic(t *testing.T) {
	c, err := pgtest.Start()
	if err != nil {
		t.Skipf("PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	url, err := c.CreateDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Sessions are re-verified every 200ms: during the outage that fails,
	// and the edge keeps the verified identity.
	p := newPlatformOn(t, url, "127.0.0.1", "localhost", func(o *edge.Options) { o.IdentityTTL = 200 * time.Millisecond })
	// Alice's browser session on the private app, and a public app.
	b := newBrowser(t)
	if resp, _ := b.get(b.login(p, "alice@example.com", p.app("hello", "/"))); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	var ok, failed atomic.Int64
	var lastErr atomic.Value
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			u := p.app("hello", "/private")
			if i%2 == 1 {
				u = p.app("open", "/public")
			}
			resp, body := b.get(u, "Accept", "application/json")
			if resp.StatusCode == http.StatusOK {
				ok.Add(1)
			} else {
				failed.Add(1)
				lastErr.Store(fmt.Sprintf("%s: %d %s", u, resp.StatusCode, body))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	c.Halt()
	eventually(t, "the table reports the database down", func() bool { return p.routes.Stats().Stale })
	down := time.Duration(envInt("RISE_EDGE_FAILSTATIC_SECONDS", 3)) * time.Second
	time.Sleep(down)
	okDown := ok.Load()
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the table reconnects", func() bool { return !p.routes.Stats().Stale })
	close(stop)
	<-done
	if failed.Load() != 0 || okDown == 0 {
		t.Fatalf("with PostgreSQL stopped for %s: %d ok, %d failed (last: %v)", down, okDown, failed.Load(), lastErr.Load())
	}
	t.Logf("%d requests ok, 0 failed, PostgreSQL stopped for %s", ok.Load(), down)

	// What changed while the listener was away (here: after it is back) arrives.
	if _, err := p.st.Pool().Exec(context.Background(), "UPDATE projects SET visibility = 'public' WHERE name = 'hello'"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "hello turns public", func() bool {
		r, _ := p.routes.Lookup(context.Background(), "hello")
		return r != nil && !r.Private
	})
}

// TestRouteTableReadsThroughOnMiss: a project or deployment committed a
// moment ago is routed before its notification arrives (here: never, the
// table is not listening), since a miss reads that project through.
func TestRouteTableReadsThroughOnMiss(t *testing.T) {
	db := newRouteDB(t, pgtest.URL(t))
	ctx := context.Background()
	tbl, err := edge.NewTable(ctx, edge.TableOptions{Pool: db.pool, Resync: time.Hour}) // not Run: no notifications
	if err != nil {
		t.Fatal(err)
	}
	fresh := db.id(t, "INSERT INTO projects (name, visibility, owner_user_id) VALUES ('fresh', 'public', $1) RETURNING id", db.alice.UserID)
	db.exec(t, `INSERT INTO deployments (project_id, deployment_id, state, active, upstreams)
		VALUES ($1, '20260101-000001', 'Healthy', true, '{http://127.0.0.1:3001}')`, fresh)
	time.Sleep(20 * time.Millisecond) // past the read-through spacing
	r, err := tbl.Lookup(ctx, "fresh")
	if err != nil || r.Deployment != "20260101-000001" {
		t.Fatalf("a project committed before its notification: %+v %v", r, err)
	}
	// A hit is served from memory: a change without a notification is not
	// seen until the next miss or resync.
	db.exec(t, "UPDATE deployments SET upstreams = '{http://127.0.0.1:3002}' WHERE project_id = $1", fresh)
	time.Sleep(20 * time.Millisecond)
	if r, _ := tbl.Lookup(ctx, "fresh"); r == nil || r.Upstreams[0] != "http://127.0.0.1:3001" {
		t.Fatalf("a hit went to the database: %+v", r)
	}
	// Misses for unknown names stay unknown.
	if _, err := tbl.Lookup(ctx, "nothing"); !errors.Is(err, edge.ErrUnknownProject) {
		t.Fatalf("unknown project: %v", err)
	}
}

// TestRouteTableTargets: every environment and group of a project has its
// own route under its host label (sdk/apphost), an unknown label of an
// existing project is a route without upstreams (never another target's or
// project's), and a label of a missing project is unknown.
func TestRouteTableTargets(t *testing.T) {
	db := newRouteDB(t, pgtest.URL(t))
	ctx := context.Background()
	shop := db.id(t, "INSERT INTO projects (name, visibility, owner_user_id) VALUES ('shop', 'public', $1) RETURNING id", db.alice.UserID)
	db.id(t, "INSERT INTO projects (name, visibility, owner_user_id) VALUES ('shop-mr', 'private', $1) RETURNING id", db.alice.UserID)
	db.exec(t, "INSERT INTO environments (project_id, name) VALUES ($1, 'staging')", shop)
	for _, d := range [][4]string{
		{"20260101-000001", "production", "default", "http://127.0.0.1:3001"},
		{"20260101-000002", "staging", "default", "http://127.0.0.1:3002"},
		{"20260101-000003", "staging", "mr/27", "http://127.0.0.1:3003"},
	} {
		db.exec(t, `INSERT INTO deployments (project_id, deployment_id, environment, deployment_group, state, active, upstreams)
			VALUES ($1, $2, $3, $4, 'Healthy', true, ARRAY[$5])`, shop, d[0], d[1], d[2], d[3])
	}
	tbl, err := edge.NewTable(ctx, edge.TableOptions{Pool: db.pool, Resync: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for label, want := range map[string]string{"shop": "20260101-000001", "shop--staging": "20260101-000002", "shop--mr--27": "20260101-000003"} {
		r, err := tbl.Lookup(ctx, label)
		if err != nil || r.Deployment != want || r.Project != "shop" {
			t.Errorf("Lookup(%q) = %+v, %v; want deployment %s", label, r, err, want)
		}
	}
	if r, err := tbl.Lookup(ctx, "shop--mr--28"); err != nil || r.Deployment != "" || len(r.Upstreams) != 0 || r.Project != "shop" {
		t.Errorf("a group that does not run: %+v, %v", r, err)
	}
	if r, err := tbl.Lookup(ctx, "shop-mr"); err != nil || r.Project != "shop-mr" || !r.Private || r.Deployment != "" {
		t.Errorf("project shop-mr: %+v, %v", r, err)
	}
	if _, err := tbl.Lookup(ctx, "nope--staging"); !errors.Is(err, edge.ErrUnknownProject) {
		t.Errorf("a label of a missing project: %v", err)
	}
}
