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

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
)

// errStale: the row changed since it was read (optimistic concurrency).
var errStale = errors.New("deployment changed concurrently")

// errNoDeployment: no such deployment in the project.
var errNoDeployment = errors.New("deployment not found")

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// row is a deployments row joined with its project.
type row struct {
	UUID, ProjectID, Project, Visibility, ProjectStatus string
	ID, Group                                           string
	State                                               deploy.State
	Image, ImageDigest                                  string
	Workload                                            api.Workload
	Message                                             string
	Active                                              bool
	StopTarget                                          string
	RuntimeState                                        []byte
	RuntimeStateVersion                                 int32
	Upstreams, URLs                                     []string
	RollbackOf, CreatedBy                               string
	ExpireSeconds                                       int64
	ExpiresAt, HealthyAt                                *time.Time
	StateChangedAt, CreatedAt, UpdatedAt                time.Time
	Version                                             int64
}

const rowCols = `d.id, d.project_id, p.name, p.visibility, p.status, d.deployment_id, d.deployment_group, d.state,
	d.image, d.image_digest, d.workload, d.message, d.active, d.stop_target, d.runtime_state, d.runtime_state_version,
	d.upstreams, d.urls, d.rollback_of, d.created_by, d.expire_seconds, d.expires_at, d.healthy_at,
	d.state_changed_at, d.created_at, d.updated_at, d.version`

const rowFrom = ` FROM deployments d JOIN projects p ON p.id = d.project_id`

// terminalSQL lists terminal states for SQL.
const terminalSQL = `('Cancelled', 'Stopped', 'Superseded', 'Expired', 'Failed')`

func scanRow(r pgx.Row) (*row, error) {
	var d row
	var state string
	var wl []byte
	err := r.Scan(&d.UUID, &d.ProjectID, &d.Project, &d.Visibility, &d.ProjectStatus, &d.ID, &d.Group, &state,
		&d.Image, &d.ImageDigest, &wl, &d.Message, &d.Active, &d.StopTarget, &d.RuntimeState, &d.RuntimeStateVersion,
		&d.Upstreams, &d.URLs, &d.RollbackOf, &d.CreatedBy, &d.ExpireSeconds, &d.ExpiresAt, &d.HealthyAt,
		&d.StateChangedAt, &d.CreatedAt, &d.UpdatedAt, &d.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoDeployment
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment: %w", err)
	}
	d.State = deploy.State(state)
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

// getByID reads deployment id of project (by project uuid).
func getByID(ctx context.Context, q querier, projectID, id string, lock bool) (*row, error) {
	sql := `SELECT ` + rowCols + rowFrom + ` WHERE d.project_id = $1 AND d.deployment_id = $2`
	if lock {
		sql += ` FOR UPDATE OF d`
	}
	return scanRow(q.QueryRow(ctx, sql, projectID, id))
}

// getByUUID reads a deployment by its row id.
func getByUUID(ctx context.Context, q querier, uuid string, lock bool) (*row, error) {
	sql := `SELECT ` + rowCols + rowFrom + ` WHERE d.id = $1`
	if lock {
		sql += ` FOR UPDATE OF d`
	}
	return scanRow(q.QueryRow(ctx, sql, uuid))
}

// activeOf returns the active deployment of a project's group, or nil.
func activeOf(ctx context.Context, q querier, projectID, group string, lock bool) (*row, error) {
	sql := `SELECT ` + rowCols + rowFrom + ` WHERE d.project_id = $1 AND d.deployment_group = $2 AND d.active`
	if lock {
		sql += ` FOR UPDATE OF d`
	}
	d, err := scanRow(q.QueryRow(ctx, sql, projectID, group))
	if errors.Is(err, errNoDeployment) {
		return nil, nil
	}
	return d, err
}

// newRow is an insert.
type newRow struct {
	ProjectID, Group   string
	State              deploy.State
	Image, ImageDigest string
	Workload           api.Workload
	RollbackOf         string
	CreatedBy          string
	ExpireSeconds      int64
	Message            string
}

// insert creates a deployment with a fresh timestamp id (suffix -2, -3 ...
// on collision; the unique constraint arbitrates races).
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
		err = q.QueryRow(ctx, `INSERT INTO deployments (project_id, deployment_id, deployment_group, state, image,
			image_digest, workload, rollback_of, created_by, expire_seconds, message)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (project_id, deployment_id) DO NOTHING RETURNING id`,
			n.ProjectID, id, n.Group, string(n.State), n.Image, n.ImageDigest, wl, n.RollbackOf, n.CreatedBy,
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

// change is an update of one deployment; zero fields are left alone.
type change struct {
	State      deploy.State
	Message    *string
	Active     *bool
	StopTarget string
	Runtime    *sdk.Deployment
	Image      string
	Digest     string
	Healthy    bool       // set healthy_at = now() (and expires_at from expire_seconds)
	ExpiresAt  *time.Time // explicit expiry
}

func str(s string) *string { return &s }
func boolp(b bool) *bool   { return &b }

// apply writes c to d when d is still at the version read (errStale
// otherwise), validating the state transition, and updates d in place.
func apply(ctx context.Context, q querier, d *row, c change) error {
	if c.State != "" && c.State != d.State {
		if err := deploy.Transition(d.State, c.State); err != nil {
			return err
		}
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
		add("stop_target", c.StopTarget)
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
	var state string
	err := q.QueryRow(ctx, sql, args...).Scan(&d.Version, &state, &d.Message, &d.Active, &d.StopTarget, &d.RuntimeState,
		&d.RuntimeStateVersion, &d.Upstreams, &d.URLs, &d.Image, &d.ImageDigest, &d.ExpiresAt, &d.HealthyAt,
		&d.StateChangedAt, &d.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return errStale
	}
	if err != nil {
		return fmt.Errorf("update deployment %s/%s: %w", d.Project, d.ID, err)
	}
	d.State = deploy.State(state)
	return nil
}

// saveHandle records the runtime's handle on d regardless of concurrent
// state changes (it describes what exists in the runtime, not a decision).
func saveHandle(ctx context.Context, q querier, d *row, h *sdk.Deployment) error {
	err := q.QueryRow(ctx, `UPDATE deployments SET runtime_state = $2, runtime_state_version = $3, upstreams = $4,
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
			WHEN EXISTS (SELECT 1 FROM deployments WHERE project_id = $1
				AND state IN ('Pending', 'Building', 'Pushing', 'Pushed', 'Deploying')) THEN 'deploying'
			WHEN (SELECT state FROM deployments WHERE project_id = $1
				ORDER BY created_at DESC, deployment_id DESC LIMIT 1) = 'Failed' THEN 'failed'
			ELSE 'stopped' END AS status) s
		WHERE p.id = $1 AND p.status <> 'deleting' AND p.status <> s.status`, projectID)
	if err != nil {
		return fmt.Errorf("update project status: %w", err)
	}
	return nil
}

// toAPI converts a row for the API.
func (d *row) toAPI(appURL func(string) string) api.Deployment {
	out := api.Deployment{
		ID: d.ID, Project: d.Project, Group: d.Group, State: string(d.State),
		Image: d.Image, ImageDigest: d.ImageDigest, Workload: d.Workload, Message: d.Message,
		Active: d.Active, RollbackOf: d.RollbackOf, CreatedBy: d.CreatedBy, ExpiresAt: d.ExpiresAt,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Version: d.Version,
	}
	if d.State.Active() || d.State == deploy.Deploying {
		switch {
		case len(d.URLs) > 0:
			out.URL = d.URLs[0]
		case appURL != nil && d.Group == api.DefaultGroup:
			out.URL = appURL(d.Project)
		}
	}
	return out
}

// handle is the runtime's handle on d (nil before the first Deploy).
func (d *row) handle() *sdk.Deployment {
	if len(d.RuntimeState) == 0 {
		return nil
	}
	return &sdk.Deployment{ID: d.ID, Project: d.Project, URLs: d.URLs, Upstreams: d.Upstreams,
		State: d.RuntimeState, StateVersion: uint32(d.RuntimeStateVersion)}
}
