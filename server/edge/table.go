package edge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/sdk/apphost"
	"github.com/riseplatform/rise/server/metrics"
)

// DefaultGroup is the deployment group the edge serves at <project>.<domain>
// (in the default environment).
const DefaultGroup = apphost.DefaultGroup

// Table is the edge's route table: every project's access class, owner,
// app users and active deployments, and every team's members, in memory. Lookups and
// access checks read an immutable snapshot (swapped atomically), never
// the database. The snapshot is loaded at start, kept current by the
// database's change notifications (LISTEN rise_routes, see listen.go) and
// fully reloaded every resync period and after the listener reconnected.
// When PostgreSQL is unreachable the last snapshot keeps serving (fail
// static) and Stale says so.
type Table struct {
	pool    *pgxpool.Pool
	log     hclog.Logger
	resync  time.Duration
	metrics *metrics.Metrics
	policy  accessPolicy // access.go

	snap     atomic.Pointer[snapshot]
	domains  atomic.Pointer[domainMap] // verified custom domains (domains.go)
	mu       sync.Mutex                // serializes writers
	stale    atomic.Bool
	lastSync atomic.Int64 // unix nanos of the last successful full load
	// lastRefresh: unix nanos of the last read-through of a missed route.
	lastRefresh atomic.Int64
}

// snapshot is one immutable state of the table.
type snapshot struct {
	byName  map[string]*entry
	byID    map[string]*entry
	members map[string]map[string]bool // team id → user id → member
}

// entry is one project.
type entry struct {
	id, ownerUser, ownerTeam string
	class                    string          // access class (access.go)
	appUsers                 map[string]bool // user ids of app users
	appTeams                 []string        // team ids of app teams
	deleting                 bool
	groups                   map[string]*Route // label suffix (apphost.Target.Suffix) → route
	route                    *Route            // production's default group's (never nil)
}

// TableOptions configure a Table.
type TableOptions struct {
	Pool *pgxpool.Pool
	// Resync is the period of full reloads (default 30s).
	Resync time.Duration
	// Metrics shows fail static (rise_edge_fail_static); nil shows nothing.
	Metrics *metrics.Metrics
	// Access is server.hcl's access block (nil: the built-in classes
	// only); CanAccess decides with it.
	Access *config.Access
	Log    hclog.Logger
}

// NewTable loads the route table; Run keeps it current.
func NewTable(ctx context.Context, o TableOptions) (*Table, error) {
	if o.Pool == nil {
		return nil, errors.New("edge: route table without a database")
	}
	if o.Resync <= 0 {
		o.Resync = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	t := &Table{pool: o.Pool, log: o.Log, resync: o.Resync, metrics: o.Metrics, policy: newAccessPolicy(o.Access)}
	if err := t.Resync(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// Name names the table's loop in the server's logs (server.Controller).
func (t *Table) Name() string { return "edge routes" }

// Lookup is Options.Lookup from memory. A miss (no such project, or no
// running deployment) reads that one project through from the database
// before answering, so a project or deployment committed a moment ago is
// routed even if its notification has not arrived yet (the CLI reports a
// deployment Healthy as soon as it is committed). Read-throughs are
// limited to one per refreshEvery for the whole table, so requests for
// missing or stopped apps cannot turn into a query each, and are skipped
// while the database is unreachable (fail static).
//
// label is an app host label (sdk/apphost): the project name for
// production's default group, <project>--<suffix> for the other targets. A
// suffix that names no running target of an existing project gets a route
// without upstreams (like a project with nothing running), never another
// project's route.
func (t *Table) Lookup(ctx context.Context, label string) (*Route, error) {
	addr, ok := apphost.Parse(label)
	if !ok {
		return nil, ErrUnknownProject
	}
	r, err := t.lookup(addr)
	if (err == nil && r.Deployment != "") || t.stale.Load() || !t.allowRefresh() {
		return r, err
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if rerr := t.reloadProjectNamed(rctx, addr.Project); rerr != nil {
		t.log.Debug("edge: read-through of a missed route failed", "project", addr.Project, "error", rerr)
		return r, err
	}
	return t.lookup(addr)
}

// refreshEvery spaces the read-throughs of missed routes (Lookup).
const refreshEvery = 10 * time.Millisecond

// allowRefresh reports whether a read-through may run now.
func (t *Table) allowRefresh() bool {
	now := time.Now().UnixNano()
	last := t.lastRefresh.Load()
	return now-last >= int64(refreshEvery) && t.lastRefresh.CompareAndSwap(last, now)
}

func (t *Table) lookup(a apphost.Address) (*Route, error) {
	e := t.snap.Load().byName[a.Project]
	if e == nil || e.deleting {
		return nil, ErrUnknownProject
	}
	if a.Suffix == "" {
		return e.route, nil
	}
	if r := e.groups[a.Suffix]; r != nil {
		return r, nil
	}
	return &Route{Project: e.route.Project, Private: e.route.Private}, nil
}

// Stats describe the table for logs and health checks.
type Stats struct {
	Projects int
	Stale    bool      // the database is unreachable: serving the last known routes
	LastSync time.Time // last successful full load
}

// Stats returns the table's current state.
func (t *Table) Stats() Stats {
	return Stats{Projects: len(t.snap.Load().byName), Stale: t.stale.Load(), LastSync: time.Unix(0, t.lastSync.Load())}
}

// Resync reloads the whole table in one consistent read.
func (t *Table) Resync(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &snapshot{byName: map[string]*entry{}, byID: map[string]*entry{}, members: map[string]map[string]bool{}}
	err := pgx.BeginTxFunc(ctx, t.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := loadProjects(ctx, tx, s, "", nil); err != nil {
			return err
		}
		if err := t.loadDomains(ctx, tx, ""); err != nil {
			return err
		}
		if err := loadAppUsers(ctx, tx, s, "", nil); err != nil {
			return err
		}
		return loadMembers(ctx, tx, s, "")
	})
	if err != nil {
		return fmt.Errorf("edge: load routes: %w", err)
	}
	t.snap.Store(s)
	t.lastSync.Store(time.Now().UnixNano())
	return nil
}

// reloadProject refreshes one project (by id) from the database.
func (t *Table) reloadProject(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snap.Load()
	s := &snapshot{byName: maps.Clone(old.byName), byID: maps.Clone(old.byID), members: old.members}
	if e := s.byID[id]; e != nil {
		delete(s.byID, id)
		for name, ne := range s.byName {
			if ne == e {
				delete(s.byName, name) // the name may have changed
			}
		}
	}
	if err := loadProjects(ctx, t.pool, s, "p.id = $1::uuid", id); err != nil {
		return fmt.Errorf("edge: load project %s: %w", id, err)
	}
	if err := loadAppUsers(ctx, t.pool, s, "p.id = $1::uuid", id); err != nil {
		return fmt.Errorf("edge: load project %s: %w", id, err)
	}
	t.snap.Store(s)
	return nil
}

// reloadProjectNamed refreshes one project (by name) from the database.
func (t *Table) reloadProjectNamed(ctx context.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snap.Load()
	s := &snapshot{byName: maps.Clone(old.byName), byID: maps.Clone(old.byID), members: old.members}
	if e := s.byName[name]; e != nil {
		delete(s.byName, name)
		delete(s.byID, e.id)
	}
	if err := loadProjects(ctx, t.pool, s, "p.name = $1", name); err != nil {
		return fmt.Errorf("edge: load project %s: %w", name, err)
	}
	if err := loadAppUsers(ctx, t.pool, s, "p.name = $1", name); err != nil {
		return fmt.Errorf("edge: load project %s: %w", name, err)
	}
	t.snap.Store(s)
	return nil
}

// reloadTeam refreshes one team's members from the database.
func (t *Table) reloadTeam(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snap.Load()
	s := &snapshot{byName: old.byName, byID: old.byID, members: maps.Clone(old.members)}
	delete(s.members, id)
	if err := loadMembers(ctx, t.pool, s, id); err != nil {
		return fmt.Errorf("edge: load team %s: %w", id, err)
	}
	t.snap.Store(s)
	return nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadProjects adds projects (all, or those matching where with its one
// argument) and their active deployments to s.
func loadProjects(ctx context.Context, q querier, s *snapshot, where string, arg any) error {
	sql := `SELECT p.id::text, p.name, p.access_class, p.status,
			COALESCE(p.owner_user_id::text, ''), COALESCE(p.owner_team_id::text, ''),
			d.environment, d.deployment_group, d.deployment_id, d.upstreams
		FROM projects p LEFT JOIN deployments d ON d.project_id = p.id AND d.active`
	var args []any
	if where != "" {
		sql += ` WHERE ` + where
		args = append(args, arg)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	var pid, name, class, status, ownerUser, ownerTeam string
	var env, group, dep *string
	var ups []string
	_, err = pgx.ForEachRow(rows, []any{&pid, &name, &class, &status, &ownerUser, &ownerTeam, &env, &group, &dep, &ups}, func() error {
		e := s.byID[pid]
		if e == nil {
			e = &entry{id: pid, ownerUser: ownerUser, ownerTeam: ownerTeam, class: class, deleting: status == "deleting",
				groups: map[string]*Route{}, route: &Route{Project: name, Private: class != config.ClassPublic}}
			s.byID[pid], s.byName[name] = e, e
		}
		if env != nil && group != nil && dep != nil {
			tg := apphost.Target{Project: name, Environment: *env, Group: *group}
			r := &Route{Project: name, Environment: tg.Env(), Group: tg.GroupName(), Private: class != config.ClassPublic,
				Deployment: *dep, Upstreams: ups}
			if s := tg.Suffix(); s == "" {
				e.route = r
			} else if prev := e.groups[s]; prev == nil || prev.Deployment < r.Deployment {
				// The server never lets two targets share a label; should
				// old rows do, the newest deployment wins, the same way
				// on every replica.
				e.groups[s] = r
			}
		}
		return nil
	})
	return err
}

// loadMembers adds team memberships (all, or team id's) to s.
func loadMembers(ctx context.Context, q querier, s *snapshot, id string) error {
	sql := `SELECT team_id::text, user_id::text FROM team_members`
	var args []any
	if id != "" {
		sql += ` WHERE team_id = $1::uuid`
		args = append(args, id)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	var team, user string
	_, err = pgx.ForEachRow(rows, []any{&team, &user}, func() error {
		m := s.members[team]
		if m == nil {
			m = map[string]bool{}
			s.members[team] = m
		}
		m[user] = true
		return nil
	})
	return err
}
