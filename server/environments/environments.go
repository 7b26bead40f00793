// Package environments owns the SQL of projects' environments (migration
// 0010): production, which every project starts with (a database trigger
// creates it with the project), and any others. An environment carries
// the workload defaults of its deployments and whether it is protected.
// Project variables scoped to an environment reference it by (project,
// name).
package environments

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riseplatform/rise/core/api"
)

// ErrNotFound: no such environment in the project.
var ErrNotFound = errors.New("environment not found")

// ErrExists: the project already has an environment of that name.
var ErrExists = errors.New("environment exists")

// Environment is one row of environments.
type Environment struct {
	ProjectID            string
	Name                 string
	Production           bool
	Protected            bool
	Replicas             int
	CPU, Memory          string
	CreatedAt, UpdatedAt time.Time
}

// IsDefault reports whether e is the project's default environment (served
// at <project>.<domain>).
func (e *Environment) IsDefault() bool { return e.Name == api.DefaultEnvironment }

// API converts e for the API (without URL and deployment).
func (e *Environment) API() api.Environment {
	return api.Environment{Name: e.Name, Production: e.Production, Protected: e.Protected, Default: e.IsDefault(),
		Replicas: e.Replicas, CPU: e.CPU, Memory: e.Memory, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// Apply fills wl's replicas, cpu and memory from e's defaults where wl
// leaves them unset.
func (e *Environment) Apply(wl *api.Workload) {
	if wl.Replicas == 0 {
		wl.Replicas = e.Replicas
	}
	if wl.CPU == "" {
		wl.CPU = e.CPU
	}
	if wl.Memory == "" {
		wl.Memory = e.Memory
	}
}

// Change is an update; nil fields are left alone.
type Change struct {
	Production, Protected *bool
	Replicas              *int
	CPU, Memory           *string
}

// DB is a pool, a connection or a transaction.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store reads and writes environments.
type Store struct{ pool DB }

// New returns a Store on db (normally the server's *pgxpool.Pool).
func New(db DB) *Store { return &Store{pool: db} }

const cols = `project_id::text, name, production, protected, replicas, cpu, memory, created_at, updated_at`

func scan(r pgx.Row) (*Environment, error) {
	var e Environment
	err := r.Scan(&e.ProjectID, &e.Name, &e.Production, &e.Protected, &e.Replicas, &e.CPU, &e.Memory, &e.CreatedAt, &e.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	return &e, nil
}

// List returns a project's environments, the default one first, then by name.
func (s *Store) List(ctx context.Context, projectID string) ([]*Environment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+cols+` FROM environments WHERE project_id = $1
		ORDER BY name <> $2, name`, projectID, api.DefaultEnvironment)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	defer rows.Close()
	var out []*Environment
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	return out, nil
}

// Get returns environment name of a project (ErrNotFound).
func (s *Store) Get(ctx context.Context, projectID, name string) (*Environment, error) {
	return scan(s.pool.QueryRow(ctx, `SELECT `+cols+` FROM environments WHERE project_id = $1 AND name = $2`, projectID, name))
}

// Create inserts e (ErrExists when the name is taken).
func (s *Store) Create(ctx context.Context, e Environment) (*Environment, error) {
	out, err := scan(s.pool.QueryRow(ctx, `INSERT INTO environments (project_id, name, production, protected, replicas, cpu, memory)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+cols,
		e.ProjectID, e.Name, e.Production, e.Protected, e.Replicas, e.CPU, e.Memory))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return nil, ErrExists
	}
	return out, err
}

// Update applies c to environment name (ErrNotFound).
func (s *Store) Update(ctx context.Context, projectID, name string, c Change) (*Environment, error) {
	sets := []string{"updated_at = now()"}
	args := []any{projectID, name}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, col+" = $"+strconv.Itoa(len(args)))
	}
	if c.Production != nil {
		add("production", *c.Production)
	}
	if c.Protected != nil {
		add("protected", *c.Protected)
	}
	if c.Replicas != nil {
		add("replicas", *c.Replicas)
	}
	if c.CPU != nil {
		add("cpu", *c.CPU)
	}
	if c.Memory != nil {
		add("memory", *c.Memory)
	}
	return scan(s.pool.QueryRow(ctx, `UPDATE environments SET `+strings.Join(sets, ", ")+`
		WHERE project_id = $1 AND name = $2 RETURNING `+cols, args...))
}

// Delete removes environment name and, through the foreign key, its
// (terminal) deployments' history. Callers check for live deployments
// first. ErrNotFound when missing.
func (s *Store) Delete(ctx context.Context, projectID, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM environments WHERE project_id = $1 AND name = $2`, projectID, name)
	if err != nil {
		return fmt.Errorf("delete environment %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// Names returns the names of a project's environments.
func (s *Store) Names(ctx context.Context, projectID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM environments WHERE project_id = $1 ORDER BY name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("list environment names: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list environment names: %w", err)
	}
	return names, nil
}
