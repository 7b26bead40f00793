package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/apphost"
	"github.com/riseplatform/rise/server/store"
	"github.com/riseplatform/rise/server/variables"
)

// errStale: the row changed since it was read (optimistic concurrency).
var errStale = errors.New("deployment changed concurrently")

// errSkip from a MutateGroup decision leaves that deployment alone.
var errSkip = errors.New("skip")

// errNoDeployment: no such deployment in the project.
var errNoDeployment = errors.New("deployment not found")

// Repository is what reconcile needs of the deployments' persistence. The
// PostgreSQL implementation is *repo; tests use an in-memory one.
type Repository interface {
	// Get reads a deployment by its row id (errNoDeployment when gone).
	Get(ctx context.Context, uuid string) (*row, error)
	// GetByID reads deployment id of a project (errNoDeployment).
	GetByID(ctx context.Context, projectID, id string) (*row, error)
	// Active returns the active deployment of a project's environment and
	// group, or nil.
	Active(ctx context.Context, projectID, env, group string) (*row, error)
	// Save applies c to d if d is still at the version read (errStale
	// otherwise; a *deploy.TransitionError for an invalid state change),
	// updates d in place and refreshes the project's status.
	Save(ctx context.Context, d *row, c change) error
	// SaveHandle records the runtime's handle on d whatever happened to the
	// row meanwhile (it describes what exists in the runtime).
	SaveHandle(ctx context.Context, d *row, h *sdk.Deployment) error
	// Promote makes d (Deploying or Unhealthy, observed healthy) its group's
	// active deployment, sending the previous one to Terminating →
	// Superseded, atomically. If a newer deployment already serves, d
	// itself is superseded instead.
	Promote(ctx context.Context, d *row, msg string) error
}

// row is a deployments row joined with its project.
type row struct {
	UUID, ProjectID, Project, Visibility, ProjectStatus string
	ID, Environment, Group                              string
	State                                               deploy.State
	Image, ImageDigest                                  string
	Workload                                            api.Workload
	Message                                             string
	Active                                              bool
	StopTarget                                          deploy.State
	RuntimeState                                        []byte
	RuntimeStateVersion                                 int32
	Upstreams, URLs                                     []string
	RollbackOf, PromotedFrom, CreatedBy                 string
	JobURL, PullRequestURL                              string
	ExpireSeconds                                       int64
	ExpiresAt, HealthyAt                                *time.Time
	StateChangedAt, CreatedAt, UpdatedAt                time.Time
	Version                                             int64
}

// newRow is an insert.
type newRow struct {
	ProjectID, Environment, Group string
	State                         deploy.State
	Image, ImageDigest            string
	Workload                      api.Workload
	RollbackOf, PromotedFrom      string
	CreatedBy                     string
	JobURL, PullRequestURL        string
	ExpireSeconds                 int64
	Message                       string
	// Config says which variable versions the deployment uses (see
	// variables.Snapshot; ProjectID and Deployment are filled in).
	Config variables.Snapshot
}

// change is an update of one deployment; zero fields are left alone.
type change struct {
	State      deploy.State
	Message    *string
	Active     *bool
	StopTarget deploy.State
	Runtime    *sdk.Deployment
	Image      string
	Digest     string
	Healthy    bool       // set healthy_at = now() (and expires_at from expire_seconds)
	ExpiresAt  *time.Time // explicit expiry
}

func str(s string) *string { return &s }
func boolp(b bool) *bool   { return &b }

// check validates c's state change from d's state.
func (c change) check(d *row) error {
	if c.State != "" && c.State != d.State {
		return deploy.Transition(d.State, c.State)
	}
	return nil
}

// states returns the names of the states for which keep is true, for SQL
// (= ANY($n)): the state lists in queries come from core/deploy.
func states(keep func(deploy.State) bool) []string {
	var out []string
	for _, s := range deploy.All {
		if keep(s) {
			out = append(out, string(s))
		}
	}
	return out
}

var (
	terminalStates = states(deploy.State.Terminal)
	// inFlightStates are on their way to the runtime: the project is "deploying".
	inFlightStates = states(func(s deploy.State) bool {
		return s.BeforePushed() || s == deploy.Pushed || s == deploy.Deploying
	})
	// stoppedStates ended with their runtime resources removed; a project
	// being deleted stops every other deployment that has a handle.
	stoppedStates = states(func(s deploy.State) bool { return s.Terminal() && s != deploy.Failed })
)

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// repo owns every SQL statement on deployments (and the controller's lease
// and change notifications) in PostgreSQL.
type repo struct {
	pool *pgxpool.Pool
	vars Variables // nil: no stored variables
}

var _ Repository = (*repo)(nil)

func newRepo(st *store.Store) *repo { return &repo{pool: st.Pool()} }

// tx runs fn in a transaction.
func (r *repo) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, r.pool, fn)
}

// Ping checks that the database answers.
func (r *repo) Ping(ctx context.Context) error { return r.pool.Ping(ctx) }

const rowCols = `d.id, d.project_id, p.name, p.visibility, p.status, d.deployment_id, d.environment, d.deployment_group, d.state,
	d.image, d.image_digest, d.workload, d.message, d.active, d.stop_target, d.runtime_state, d.runtime_state_version,
	d.upstreams, d.urls, d.rollback_of, d.promoted_from, d.created_by, d.job_url, d.pull_request_url, d.expire_seconds,
	d.expires_at, d.healthy_at, d.state_changed_at, d.created_at, d.updated_at, d.version`

const rowFrom = ` FROM deployments d JOIN projects p ON p.id = d.project_id`

func scanRow(r pgx.Row) (*row, error) {
	var d row
	var state, target string
	var wl []byte
	err := r.Scan(&d.UUID, &d.ProjectID, &d.Project, &d.Visibility, &d.ProjectStatus, &d.ID, &d.Environment, &d.Group, &state,
		&d.Image, &d.ImageDigest, &wl, &d.Message, &d.Active, &target, &d.RuntimeState, &d.RuntimeStateVersion,
		&d.Upstreams, &d.URLs, &d.RollbackOf, &d.PromotedFrom, &d.CreatedBy, &d.JobURL, &d.PullRequestURL, &d.ExpireSeconds,
		&d.ExpiresAt, &d.HealthyAt, &d.StateChangedAt, &d.CreatedAt, &d.UpdatedAt, &d.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoDeployment
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment: %w", err)
	}
	if d.State, err = deploy.Parse(state); err != nil {
		return nil, fmt.Errorf("deployment %s: %w", d.ID, err)
	}
	d.StopTarget = deploy.State(target)
	if len(wl) > 0 {
		if err := json.Unmarshal(wl, &d.Workload); err != nil {
			return nil, fmt.Errorf("decode workload of deployment %s: %w", d.ID, err)
		}
	}
	return &d, nil
}

func scanRows(rows pgx.Rows, err error) ([]*row, error) {
	if err != nil {
		return nil, fmt.Errorf("query deployments: %w", err)
	}
	defer rows.Close()
	var out []*row
	for rows.Next() {
		d, err := scanRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query deployments: %w", err)
	}
	return out, nil
}

// Get implements Repository.
func (r *repo) Get(ctx context.Context, uuid string) (*row, error) {
	return scanRow(r.pool.QueryRow(ctx, `SELECT `+rowCols+rowFrom+` WHERE d.id = $1`, uuid))
}

// GetByID implements Repository.
func (r *repo) GetByID(ctx context.Context, projectID, id string) (*row, error) {
	return getByID(ctx, r.pool, projectID, id, false)
}

func getByID(ctx context.Context, q querier, projectID, id string, lock bool) (*row, error) {
	sql := `SELECT ` + rowCols + rowFrom + ` WHERE d.project_id = $1 AND d.deployment_id = $2`
	if lock {
		sql += ` FOR UPDATE OF d`
	}
	return scanRow(q.QueryRow(ctx, sql, projectID, id))
}

// Active implements Repository.
func (r *repo) Active(ctx context.Context, projectID, env, group string) (*row, error) {
	return activeOf(ctx, r.pool, projectID, env, group, false)
}

func activeOf(ctx context.Context, q querier, projectID, env, group string, lock bool) (*row, error) {
	sql := `SELECT ` + rowCols + rowFrom + ` WHERE d.project_id = $1 AND d.environment = $2 AND d.deployment_group = $3 AND d.active`
	if lock {
		sql += ` FOR UPDATE OF d`
	}
	d, err := scanRow(q.QueryRow(ctx, sql, projectID, env, group))
	if errors.Is(err, errNoDeployment) {
		return nil, nil
	}
	return d, err
}

// List returns up to limit deployments of a project (of env and group,
// when not ""), newest first, older than cursor when it is not "".
func (r *repo) List(ctx context.Context, projectID, env, group, cursor string, limit int) ([]*row, error) {
	args := []any{projectID, limit}
	sql := `SELECT ` + rowCols + rowFrom + ` WHERE d.project_id = $1`
	if env != "" {
		args = append(args, env)
		sql += ` AND d.environment = $` + strconv.Itoa(len(args))
	}
	if group != "" {
		args = append(args, group)
		sql += ` AND d.deployment_group = $` + strconv.Itoa(len(args))
	}
	if cursor != "" {
		args = append(args, cursor)
		sql += ` AND d.deployment_id < $` + strconv.Itoa(len(args))
	}
	sql += ` ORDER BY d.deployment_id DESC LIMIT $2`
	return scanRows(r.pool.Query(ctx, sql, args...))
}

// LastServed is the newest deployment of a project's group that once served
// (healthy_at set), is not the active one and has an image: the target of
// "rollback previous". errNoDeployment when there is none.
func (r *repo) LastServed(ctx context.Context, projectID, env, group string) (*row, error) {
	return scanRow(r.pool.QueryRow(ctx, `SELECT `+rowCols+rowFrom+`
		WHERE d.project_id = $1 AND d.environment = $2 AND d.deployment_group = $3 AND NOT d.active
		AND d.healthy_at IS NOT NULL AND (d.image <> '' OR d.image_digest <> '')
		ORDER BY d.deployment_id DESC LIMIT 1`, projectID, env, group))
}

// Groups returns, for every environment and group of a project with a
// live (non-terminal) deployment, its active deployment or else its newest
// live one, ordered by environment and group.
func (r *repo) Groups(ctx context.Context, projectID string) ([]*row, error) {
	return scanRows(r.pool.Query(ctx, `SELECT DISTINCT ON (d.environment, d.deployment_group) `+rowCols+rowFrom+`
		WHERE d.project_id = $1 AND d.state <> ALL($2)
		ORDER BY d.environment, d.deployment_group, d.active DESC, d.deployment_id DESC`, projectID, terminalStates))
}

// ActiveDefaults returns the active deployments of the default group of
// every environment of a project.
func (r *repo) ActiveDefaults(ctx context.Context, projectID string) ([]*row, error) {
	return scanRows(r.pool.Query(ctx, `SELECT `+rowCols+rowFrom+`
		WHERE d.project_id = $1 AND d.active AND d.deployment_group = $2`, projectID, api.DefaultGroup))
}

// LiveEnvironments lists the environments in which a project has live
// (non-terminal) deployments of group ("" = any group).
func (r *repo) LiveEnvironments(ctx context.Context, projectID, group string) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT DISTINCT environment FROM deployments
		WHERE project_id = $1 AND ($2 = '' OR deployment_group = $2) AND state <> ALL($3) ORDER BY environment`,
		projectID, group, terminalStates)
	if err != nil {
		return nil, fmt.Errorf("query live environments: %w", err)
	}
	envs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("query live environments: %w", err)
	}
	return envs, nil
}

// LiveIn reports whether a project has live deployments in environment env.
func (r *repo) LiveIn(ctx context.Context, projectID, env string) (bool, error) {
	var live bool
	err := r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deployments
		WHERE project_id = $1 AND environment = $2 AND state <> ALL($3))`, projectID, env, terminalStates).Scan(&live)
	if err != nil {
		return false, fmt.Errorf("query live deployments of %s: %w", env, err)
	}
	return live, nil
}

// MutateGroup locks every live deployment of a project's environment and
// group, asks decide for each one's change and applies them with the
// project's status, in one transaction. It returns the changed rows.
func (r *repo) MutateGroup(ctx context.Context, projectID, env, group string, decide func(*row) (change, error)) ([]*row, error) {
	var out []*row
	err := r.tx(ctx, func(tx pgx.Tx) error {
		ds, err := scanRows(tx.Query(ctx, `SELECT `+rowCols+rowFrom+`
			WHERE d.project_id = $1 AND d.environment = $2 AND d.deployment_group = $3 AND d.state <> ALL($4)
			ORDER BY d.deployment_id FOR UPDATE OF d`, projectID, env, group, terminalStates))
		if err != nil {
			return err
		}
		for _, d := range ds {
			ch, err := decide(d)
			if errors.Is(err, errSkip) {
				continue
			}
			if err != nil {
				return err
			}
			if err := apply(ctx, tx, d, ch); err != nil {
				return err
			}
			out = append(out, d)
		}
		return syncProjectStatus(ctx, tx, projectID)
	})
	return out, err
}

// Create inserts a deployment with a fresh timestamp id (suffix -2, -3 ...
// on collision; the unique constraint arbitrates races), refreshes the
// project's status and returns the new row.
func (r *repo) Create(ctx context.Context, n newRow, now time.Time) (*row, error) {
	var d *row
	err := r.tx(ctx, func(tx pgx.Tx) error {
		uuid, err := insert(ctx, tx, n, now)
		if err != nil {
			return err
		}
		if r.vars != nil {
			sn := n.Config
			sn.ProjectID, sn.Deployment, sn.Environment = n.ProjectID, uuid, orDefault(n.Environment, api.DefaultEnvironment)
			if err := r.vars.Snapshot(ctx, tx, sn); err != nil {
				return err
			}
		}
		if err := syncProjectStatus(ctx, tx, n.ProjectID); err != nil {
			return err
		}
		d, err = scanRow(tx.QueryRow(ctx, `SELECT `+rowCols+rowFrom+` WHERE d.id = $1`, uuid))
		return err
	})
	return d, err
}

func insert(ctx context.Context, q querier, n newRow, now time.Time) (string, error) {
	wl, err := json.Marshal(n.Workload)
	if err != nil {
		return "", fmt.Errorf("encode workload: %w", err)
	}
	id, err := deploy.NewID(now, func(id string) (bool, error) {
		var exists bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deployments WHERE project_id = $1 AND deployment_id = $2)`,
			n.ProjectID, id).Scan(&exists)
		return exists, err
	})
	if err != nil {
		return "", err
	}
	for range 20 {
		var uuid string
		err = q.QueryRow(ctx, `INSERT INTO deployments (project_id, deployment_id, environment, deployment_group, state,
			image, image_digest, workload, rollback_of, promoted_from, created_by, job_url, pull_request_url,
			expire_seconds, message)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
			ON CONFLICT (project_id, deployment_id) DO NOTHING RETURNING id`,
			n.ProjectID, id, orDefault(n.Environment, api.DefaultEnvironment), n.Group, string(n.State), n.Image,
			n.ImageDigest, wl, n.RollbackOf, n.PromotedFrom, n.CreatedBy, n.JobURL, n.PullRequestURL,
			n.ExpireSeconds, n.Message).Scan(&uuid)
		if errors.Is(err, pgx.ErrNoRows) {
			id = deploy.NextID(id)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("insert deployment: %w", err)
		}
		return uuid, nil
	}
	return "", fmt.Errorf("no free deployment id near %s", id)
}

// Mutate locks deployment id of a project, asks decide for the change and
// applies it with the project's status, in one transaction. decide's error
// and errNoDeployment come back as they are.
func (r *repo) Mutate(ctx context.Context, projectID, id string, decide func(*row) (change, error)) (*row, error) {
	var out *row
	err := r.tx(ctx, func(tx pgx.Tx) error {
		d, err := getByID(ctx, tx, projectID, id, true)
		if err != nil {
			return err
		}
		ch, err := decide(d)
		if err != nil {
			return err
		}
		if err := apply(ctx, tx, d, ch); err != nil {
			return err
		}
		out = d
		return syncProjectStatus(ctx, tx, projectID)
	})
	return out, err
}

// Save implements Repository.
func (r *repo) Save(ctx context.Context, d *row, c change) error {
	return r.tx(ctx, func(tx pgx.Tx) error {
		if err := apply(ctx, tx, d, c); err != nil {
			return err
		}
		return syncProjectStatus(ctx, tx, d.ProjectID)
	})
}

// apply writes c to d when d is still at the version read (errStale
// otherwise), validating the state transition, and updates d in place.
func apply(ctx context.Context, q querier, d *row, c change) error {
	if err := c.check(d); err != nil {
		return err
	}
	sets := []string{"version = version + 1", "updated_at = now()"}
	args := []any{d.UUID, d.Version}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, col+" = $"+strconv.Itoa(len(args)))
	}
	if c.State != "" && c.State != d.State {
		add("state", string(c.State))
		sets = append(sets, "state_changed_at = now()")
	}
	if c.Message != nil {
		add("message", *c.Message)
	}
	if c.Active != nil {
		add("active", *c.Active)
	}
	if c.StopTarget != "" {
		add("stop_target", string(c.StopTarget))
	}
	if c.Runtime != nil {
		add("runtime_state", c.Runtime.State)
		add("runtime_state_version", int32(c.Runtime.StateVersion))
		add("upstreams", nonNil(c.Runtime.Upstreams))
		add("urls", nonNil(c.Runtime.URLs))
	}
	if c.Image != "" {
		add("image", c.Image)
	}
	if c.Digest != "" {
		add("image_digest", c.Digest)
	}
	if c.Healthy {
		sets = append(sets, "healthy_at = COALESCE(healthy_at, now())",
			"expires_at = CASE WHEN expire_seconds > 0 AND expires_at IS NULL THEN now() + expire_seconds * interval '1 second' ELSE expires_at END")
	}
	if c.ExpiresAt != nil {
		add("expires_at", *c.ExpiresAt)
	}
	sql := `UPDATE deployments SET ` + strings.Join(sets, ", ") + ` WHERE id = $1 AND version = $2
		RETURNING version, state, message, active, stop_target, runtime_state, runtime_state_version, upstreams, urls,
		image, image_digest, expires_at, healthy_at, state_changed_at, updated_at`
	var state, target string
	err := q.QueryRow(ctx, sql, args...).Scan(&d.Version, &state, &d.Message, &d.Active, &target, &d.RuntimeState,
		&d.RuntimeStateVersion, &d.Upstreams, &d.URLs, &d.Image, &d.ImageDigest, &d.ExpiresAt, &d.HealthyAt,
		&d.StateChangedAt, &d.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return errStale
	}
	if err != nil {
		return fmt.Errorf("update deployment %s/%s: %w", d.Project, d.ID, err)
	}
	d.State, d.StopTarget = deploy.State(state), deploy.State(target)
	return nil
}

// SaveHandle implements Repository.
func (r *repo) SaveHandle(ctx context.Context, d *row, h *sdk.Deployment) error {
	err := r.pool.QueryRow(ctx, `UPDATE deployments SET runtime_state = $2, runtime_state_version = $3, upstreams = $4,
		urls = $5, version = version + 1, updated_at = now() WHERE id = $1 RETURNING version`,
		d.UUID, h.State, int32(h.StateVersion), nonNil(h.Upstreams), nonNil(h.URLs)).Scan(&d.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoDeployment
	}
	if err != nil {
		return fmt.Errorf("record runtime handle of %s/%s: %w", d.Project, d.ID, err)
	}
	d.RuntimeState, d.RuntimeStateVersion, d.Upstreams, d.URLs = h.State, int32(h.StateVersion), h.Upstreams, h.URLs
	return nil
}

// Promote implements Repository.
func (r *repo) Promote(ctx context.Context, d *row, msg string) error {
	return r.tx(ctx, func(tx pgx.Tx) error {
		old, err := activeOf(ctx, tx, d.ProjectID, d.Environment, d.Group, true)
		if err != nil {
			return err
		}
		for _, step := range promotion(d, old, msg) {
			if err := apply(ctx, tx, step.d, step.c); err != nil {
				return err
			}
		}
		return syncProjectStatus(ctx, tx, d.ProjectID)
	})
}

// promoteStep is one change of a promotion.
type promoteStep struct {
	d *row
	c change
}

// promotion decides the changes that make d (observed healthy) its group's
// active deployment, given the currently active old (or nil).
func promotion(d, old *row, msg string) []promoteStep {
	if old != nil && old.UUID != d.UUID && old.CreatedAt.After(d.CreatedAt) {
		// A newer deployment already serves: this one came too late.
		return []promoteStep{{d, change{State: deploy.Terminating, StopTarget: deploy.Superseded,
			Message: str("Superseded by the newer deployment " + old.ID)}}}
	}
	var steps []promoteStep
	if old != nil && old.UUID != d.UUID {
		steps = append(steps, promoteStep{old, change{State: deploy.Terminating, StopTarget: deploy.Superseded,
			Active: boolp(false), Message: str("Superseded by " + d.ID)}})
	}
	if msg == "" {
		msg = "Healthy"
	}
	return append(steps, promoteStep{d, change{State: deploy.Healthy, Active: boolp(true), Healthy: true, Message: str(msg)}})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// syncProjectStatus derives projects.status from its deployments: running
// (an active deployment), deploying (one on its way), failed (the newest
// failed), stopped. A project being deleted keeps "deleting".
func syncProjectStatus(ctx context.Context, q querier, projectID string) error {
	_, err := q.Exec(ctx, `UPDATE projects p SET status = s.status, updated_at = now() FROM (
		SELECT CASE
			WHEN EXISTS (SELECT 1 FROM deployments WHERE project_id = $1 AND active) THEN 'running'
			WHEN EXISTS (SELECT 1 FROM deployments WHERE project_id = $1 AND state = ANY($2)) THEN 'deploying'
			WHEN (SELECT state FROM deployments WHERE project_id = $1
				ORDER BY created_at DESC, deployment_id DESC LIMIT 1) = $3 THEN 'failed'
			ELSE 'stopped' END AS status) s
		WHERE p.id = $1 AND p.status <> 'deleting' AND p.status <> s.status`,
		projectID, inFlightStates, string(deploy.Failed))
	if err != nil {
		return fmt.Errorf("update project status: %w", err)
	}
	return nil
}

// Work lists the controller's work: "d:<uuid>" for every non-terminal
// deployment, "p:<uuid>" for every project being deleted.
func (r *repo) Work(ctx context.Context) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT 'd:' || id FROM deployments WHERE state <> ALL($1)
		UNION ALL SELECT 'p:' || id FROM projects WHERE status = $2`, terminalStates, store.StatusDeleting)
	if err != nil {
		return nil, fmt.Errorf("list work: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list work: %w", err)
	}
	return keys, nil
}

// DeletingProject returns the name of project projectID if it is being
// deleted (ok false when it is not, or is gone).
func (r *repo) DeletingProject(ctx context.Context, projectID string) (name string, ok bool, err error) {
	var status string
	err = r.pool.QueryRow(ctx, `SELECT name, status FROM projects WHERE id = $1`, projectID).Scan(&name, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read project %s: %w", projectID, err)
	}
	return name, status == store.StatusDeleting, nil
}

// WithHandles lists a project's deployments that have a runtime handle and
// were not stopped through it (what a project deletion must stop).
func (r *repo) WithHandles(ctx context.Context, projectID string) ([]*row, error) {
	return scanRows(r.pool.Query(ctx, `SELECT `+rowCols+rowFrom+`
		WHERE d.project_id = $1 AND d.runtime_state IS NOT NULL AND d.state <> ALL($2)`, projectID, stoppedStates))
}

// leaseName is the deployments controller's row in controller_leases.
const leaseName = "deployments"

// AcquireLease takes or renews lease name for holder; it reports whether
// holder holds it now (until now+ttl).
func (r *repo) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var got string
	err := r.pool.QueryRow(ctx, `INSERT INTO controller_leases (name, holder, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, updated_at = now()
		WHERE controller_leases.holder = EXCLUDED.holder OR controller_leases.expires_at < now()
		RETURNING holder`, name, holder, ttl.Milliseconds()).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return got == holder, nil
}

// ReleaseLease gives lease name up (on clean shutdown) so another replica
// takes over at once.
func (r *repo) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := r.pool.Exec(ctx, `DELETE FROM controller_leases WHERE name = $1 AND holder = $2`, name, holder)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// notifyChannel is the LISTEN channel migration 0003's triggers notify.
const notifyChannel = "rise_deployments"

// Listen holds one connection LISTENing for deployment changes (and the
// edge's store.RoutesChannel, for custom domain changes) and calls ready once
// listening, then fn with every notification, until the connection fails
// or ctx ends.
func (r *repo) Listen(ctx context.Context, ready func(), fn func(channel, payload string)) error {
	pc, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	// The connection carries LISTEN state; never hand it back to the pool.
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel+"; LISTEN "+store.RoutesChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ready()
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		fn(note.Channel, note.Payload)
	}
}

// toAPI converts a row for the API.
func (d *row) toAPI(appURL func(string) string) api.Deployment {
	out := api.Deployment{
		ID: d.ID, Project: d.Project, Environment: d.Environment, Group: d.Group, State: d.State,
		Image: d.Image, ImageDigest: d.ImageDigest, Workload: d.Workload, Message: d.Message,
		Active: d.Active, RollbackOf: d.RollbackOf, PromotedFrom: d.PromotedFrom, JobURL: d.JobURL,
		PullRequestURL: d.PullRequestURL, CreatedBy: d.CreatedBy, ExpiresAt: d.ExpiresAt,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Version: d.Version,
	}
	if d.State.Active() || d.State == deploy.Deploying {
		switch {
		case len(d.URLs) > 0:
			out.URL = d.URLs[0]
		case appURL != nil:
			out.URL = appURL(d.target().Label())
		}
	}
	return out
}

// target is the app host target d serves.
func (d *row) target() apphost.Target {
	return apphost.Target{Project: d.Project, Environment: d.Environment, Group: d.Group}
}

// handle is the runtime's handle on d (nil before the first Deploy).
func (d *row) handle() *sdk.Deployment {
	if len(d.RuntimeState) == 0 {
		return nil
	}
	return &sdk.Deployment{ID: d.ID, Project: d.Project, URLs: d.URLs, Upstreams: d.Upstreams,
		State: d.RuntimeState, StateVersion: uint32(d.RuntimeStateVersion)}
}

// timelineEntry is a deployment_events row (migration 0013) with its
// deployment's public id and group.
type timelineEntry struct {
	Seq            int64
	DeploymentUUID string
	api.DeploymentEvent
}

// Timeline returns a project's timeline entries (one deployment's when
// deploymentUUID is set) with seq > after, oldest first, at most limit. A
// negative after means the latest limit entries.
func (r *repo) Timeline(ctx context.Context, projectID, deploymentUUID string, after int64, limit int) ([]timelineEntry, error) {
	args := []any{projectID, limit}
	sql := `SELECT e.seq, e.deployment, d.deployment_id, d.deployment_group, e.state, e.message, e.at
		FROM deployment_events e JOIN deployments d ON d.id = e.deployment WHERE e.project_id = $1`
	if deploymentUUID != "" {
		args = append(args, deploymentUUID)
		sql += ` AND e.deployment = $` + strconv.Itoa(len(args))
	}
	if after >= 0 {
		args = append(args, after)
		sql += ` AND e.seq > $` + strconv.Itoa(len(args)) + ` ORDER BY e.seq LIMIT $2`
	} else {
		sql = `SELECT * FROM (` + sql + ` ORDER BY e.seq DESC LIMIT $2) t ORDER BY seq`
	}
	rows, err := r.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("query deployment timeline: %w", err)
	}
	defer rows.Close()
	var out []timelineEntry
	for rows.Next() {
		var e timelineEntry
		var state string
		if err := rows.Scan(&e.Seq, &e.DeploymentUUID, &e.Deployment, &e.Group, &state, &e.Message, &e.Time); err != nil {
			return nil, fmt.Errorf("read deployment timeline: %w", err)
		}
		e.DeploymentEvent.Seq, e.State = e.Seq, deploy.State(state)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query deployment timeline: %w", err)
	}
	return out, nil
}
