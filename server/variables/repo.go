package variables

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/keyring"
)

// repo owns every SQL statement on variables and deployment_variables.
type repo struct {
	pool *pgxpool.Pool
}

// version is one row of variables.
type version struct {
	ID             int64
	ProjectID      string
	Environment    string // "" = project-wide
	Name           string
	Kind           api.VariableKind
	DeploymentOnly bool
	Sealed         keyring.Sealed
	CreatedBy      string
	CreatedAt      time.Time
}

const versionCols = `id, project_id, COALESCE(environment, ''), name, kind, deployment_only, sealed, wrapped_key, key_id, created_by, created_at`

func scanVersion(r pgx.Row) (*version, error) {
	var v version
	var kind string
	err := r.Scan(&v.ID, &v.ProjectID, &v.Environment, &v.Name, &kind, &v.DeploymentOnly, &v.Sealed.Data, &v.Sealed.WrappedKey,
		&v.Sealed.KeyID, &v.CreatedBy, &v.CreatedAt)
	if err != nil {
		return nil, err
	}
	v.Kind = api.VariableKind(kind)
	return &v, nil
}

func collect(rows pgx.Rows, err error) ([]*version, error) {
	if err != nil {
		return nil, fmt.Errorf("query variables: %w", err)
	}
	defer rows.Close()
	var out []*version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("read variable: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query variables: %w", err)
	}
	return out, nil
}

// Scopes. A variable row belongs to one scope: project-wide (environment
// NULL) or one environment's own. A scope is given as a string, "" for
// project-wide (no environment can be named "": 0009's check). These are
// the only SQL fragments that know how scopes are stored.
//
// inScope selects the rows of exactly scope $n.
func inScope(n int) string { return fmt.Sprintf(`COALESCE(environment, '') = $%d`, n) }

// visibleIn selects the rows environment $n sees: project-wide ones and
// its own ("" sees the project-wide ones only). Picking one row per name
// with DISTINCT ON (name) ... ORDER BY layered gives the environment's own
// value where it has one: the layering.
func visibleIn(n int) string { return fmt.Sprintf(`(environment IS NULL OR environment = $%d)`, n) }

// layered orders visible rows by name, an environment's own first.
const layered = `name, environment IS NULL`

// scopeValue is the environment column's value for scope ("" = NULL).
func scopeValue(scope string) *string {
	if scope == "" {
		return nil
	}
	return &scope
}

// Effective lists the current variables environment env sees (its own
// over the project-wide ones; env "" sees the project-wide ones) by name.
func (r *repo) Effective(ctx context.Context, projectID, env string) ([]*version, error) {
	return collect(r.pool.Query(ctx, `SELECT DISTINCT ON (name) `+versionCols+` FROM variables
		WHERE project_id = $1 AND current AND `+visibleIn(2)+` ORDER BY `+layered, projectID, env))
}

// EffectiveOne returns the value of name environment env sees (nil when
// unset in it and project-wide).
func (r *repo) EffectiveOne(ctx context.Context, projectID, env, name string) (*version, error) {
	v, err := scanVersion(r.pool.QueryRow(ctx, `SELECT `+versionCols+` FROM variables
		WHERE project_id = $1 AND current AND `+visibleIn(2)+` AND name = $3 ORDER BY `+layered+` LIMIT 1`, projectID, env, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read variable %s: %w", name, err)
	}
	return v, nil
}

// errTooMany: the project would have more than max variables.
var errTooMany = errors.New("too many variables")

// errNoEnvironment: the scope's environment is gone.
var errNoEnvironment = errors.New("environment not found")

// Set makes vs the current versions of their names in scope, in one
// transaction, refusing (errTooMany) when the scope would then have more
// than max.
func (r *repo) Set(ctx context.Context, projectID, scope string, vs []*version, max int) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		// Serialize changes of one project's variables (the count check).
		if _, err := tx.Exec(ctx, `SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, projectID); err != nil {
			return fmt.Errorf("lock project: %w", err)
		}
		// An environment's values need the environment until commit: one
		// deleted meanwhile (which deletes its values) takes none.
		if scope != "" {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM environments WHERE project_id = $1 AND name = $2 FOR SHARE`, projectID, scope).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoEnvironment
			}
			if err != nil {
				return fmt.Errorf("lock environment %s: %w", scope, err)
			}
		}
		names := make([]string, len(vs))
		for i, v := range vs {
			names[i] = v.Name
		}
		if _, err := tx.Exec(ctx, `UPDATE variables SET current = false
			WHERE project_id = $1 AND current AND `+inScope(3)+` AND name = ANY($2)`, projectID, names, scope); err != nil {
			return fmt.Errorf("replace variables: %w", err)
		}
		for _, v := range vs {
			if err := tx.QueryRow(ctx, `INSERT INTO variables (project_id, environment, name, kind, current, sealed, wrapped_key, key_id, created_by)
				VALUES ($1, $2, $3, $4, true, $5, $6, $7, $8) RETURNING id, created_at`,
				projectID, scopeValue(scope), v.Name, string(v.Kind), v.Sealed.Data, v.Sealed.WrappedKey, v.Sealed.KeyID, v.CreatedBy,
			).Scan(&v.ID, &v.CreatedAt); err != nil {
				return fmt.Errorf("insert variable %s: %w", v.Name, err)
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM variables WHERE project_id = $1 AND current AND `+inScope(2),
			projectID, scope).Scan(&n); err != nil {
			return fmt.Errorf("count variables: %w", err)
		}
		if n > max {
			return errTooMany
		}
		return prune(ctx, tx, projectID, names)
	})
}

// Unset removes name's current version in scope; false when it was not
// set there.
func (r *repo) Unset(ctx context.Context, projectID, scope, name string) (bool, error) {
	var found bool
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE variables SET current = false
			WHERE project_id = $1 AND current AND `+inScope(3)+` AND name = $2`, projectID, name, scope)
		if err != nil {
			return fmt.Errorf("unset variable %s: %w", name, err)
		}
		found = tag.RowsAffected() > 0
		return prune(ctx, tx, projectID, []string{name})
	})
	return found, err
}

// prune deletes versions of names that are neither current nor used by a
// deployment (what a rollback could still need stays).
func prune(ctx context.Context, tx pgx.Tx, projectID string, names []string) error {
	_, err := tx.Exec(ctx, `DELETE FROM variables v WHERE v.project_id = $1 AND v.name = ANY($2) AND NOT v.current
		AND NOT EXISTS (SELECT 1 FROM deployment_variables dv WHERE dv.variable_id = v.id)`, projectID, names)
	if err != nil {
		return fmt.Errorf("prune variable versions: %w", err)
	}
	return nil
}

// deleteScope removes environment env's own variables (the environment is
// being deleted, in tx): versions no deployment uses go, the others (a
// deployment promoted with its source's variables) stay until pruned.
func deleteScope(ctx context.Context, tx pgx.Tx, projectID, env string) error {
	if env == "" {
		return errors.New("delete variables: no environment given")
	}
	if _, err := tx.Exec(ctx, `UPDATE variables SET current = false WHERE project_id = $1 AND current AND `+inScope(2),
		projectID, env); err != nil {
		return fmt.Errorf("delete variables of environment %s: %w", env, err)
	}
	_, err := tx.Exec(ctx, `DELETE FROM variables v WHERE v.project_id = $1 AND `+inScope(2)+`
		AND NOT EXISTS (SELECT 1 FROM deployment_variables dv WHERE dv.variable_id = v.id)`, projectID, env)
	if err != nil {
		return fmt.Errorf("delete variables of environment %s: %w", env, err)
	}
	return nil
}

// snapshotCurrent links deployment to the current variables environment
// env sees.
func snapshotCurrent(ctx context.Context, tx pgx.Tx, projectID, env, deployment string) error {
	_, err := tx.Exec(ctx, `INSERT INTO deployment_variables (deployment_id, variable_id)
		SELECT $3, id FROM (SELECT DISTINCT ON (name) id FROM variables
			WHERE project_id = $1 AND current AND `+visibleIn(2)+` ORDER BY `+layered+`) effective`,
		projectID, env, deployment)
	if err != nil {
		return fmt.Errorf("snapshot variables: %w", err)
	}
	return nil
}

// snapshotFrom links deployment to the versions deployment from uses
// (all of them, or with onlyDeploymentOnly its --secret-env values).
func snapshotFrom(ctx context.Context, tx pgx.Tx, deployment, from string, onlyDeploymentOnly bool) error {
	_, err := tx.Exec(ctx, `INSERT INTO deployment_variables (deployment_id, variable_id)
		SELECT $1, dv.variable_id FROM deployment_variables dv JOIN variables v ON v.id = dv.variable_id
		WHERE dv.deployment_id = $2 AND (v.deployment_only OR NOT $3)
		ON CONFLICT DO NOTHING`, deployment, from, onlyDeploymentOnly)
	if err != nil {
		return fmt.Errorf("copy variables of the source deployment: %w", err)
	}
	return nil
}

// insertDeploymentOnly stores v (deployment_only) and links it to deployment.
func insertDeploymentOnly(ctx context.Context, tx pgx.Tx, deployment string, v *version) error {
	err := tx.QueryRow(ctx, `WITH v AS (INSERT INTO variables (project_id, name, kind, deployment_only, sealed, wrapped_key, key_id, created_by)
			VALUES ($1, $2, $3, true, $4, $5, $6, $7) RETURNING id)
		INSERT INTO deployment_variables (deployment_id, variable_id) SELECT $8, id FROM v RETURNING variable_id`,
		v.ProjectID, v.Name, string(v.Kind), v.Sealed.Data, v.Sealed.WrappedKey, v.Sealed.KeyID, v.CreatedBy, deployment,
	).Scan(&v.ID)
	if err != nil {
		return fmt.Errorf("store deployment value %s: %w", v.Name, err)
	}
	return nil
}

// OfDeployment lists the versions a deployment was created with: stored
// variables first, then its deployment-only values, each by name.
func (r *repo) OfDeployment(ctx context.Context, deployment string) ([]*version, error) {
	return collect(r.pool.Query(ctx, `SELECT v.id, v.project_id, COALESCE(v.environment, ''), v.name, v.kind, v.deployment_only, v.sealed, v.wrapped_key,
		v.key_id, v.created_by, v.created_at
		FROM deployment_variables dv JOIN variables v ON v.id = dv.variable_id
		WHERE dv.deployment_id = $1 ORDER BY v.deployment_only, v.name`, deployment))
}

// KeyUse is how many values one KEK wraps, with one of them to check.
type KeyUse struct {
	KeyID  string
	Count  int
	Sample keyring.Sealed
	AAD    []byte
}

// KeysInUse lists the KEKs that wrap stored values.
func (r *repo) KeysInUse(ctx context.Context) ([]KeyUse, error) {
	rows, err := r.pool.Query(ctx, `SELECT DISTINCT ON (key_id) key_id, count(*) OVER (PARTITION BY key_id),
		sealed, wrapped_key, project_id, COALESCE(environment, ''), name FROM variables ORDER BY key_id, id`)
	if err != nil {
		return nil, fmt.Errorf("list encryption keys in use: %w", err)
	}
	defer rows.Close()
	var out []KeyUse
	for rows.Next() {
		var u KeyUse
		var project, scope, name string
		if err := rows.Scan(&u.KeyID, &u.Count, &u.Sample.Data, &u.Sample.WrappedKey, &project, &scope, &name); err != nil {
			return nil, fmt.Errorf("list encryption keys in use: %w", err)
		}
		u.Sample.KeyID, u.AAD = u.KeyID, aad(project, scope, name)
		out = append(out, u)
	}
	return out, rows.Err()
}

// rewrapBatch re-wraps up to n data keys not under current with fn, and
// returns how many it changed.
func (r *repo) rewrapBatch(ctx context.Context, current string, n int, fn func(keyring.Sealed) (keyring.Sealed, error)) (int, error) {
	done := 0
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, sealed, wrapped_key, key_id FROM variables WHERE key_id <> $1
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, current, n)
		if err != nil {
			return fmt.Errorf("read data keys: %w", err)
		}
		type item struct {
			id int64
			s  keyring.Sealed
		}
		var items []item
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.id, &it.s.Data, &it.s.WrappedKey, &it.s.KeyID); err != nil {
				rows.Close()
				return fmt.Errorf("read data keys: %w", err)
			}
			items = append(items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read data keys: %w", err)
		}
		for _, it := range items {
			s, err := fn(it.s)
			if err != nil {
				return fmt.Errorf("variable version %d: %w", it.id, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE variables SET wrapped_key = $2, key_id = $3 WHERE id = $1`,
				it.id, s.WrappedKey, s.KeyID); err != nil {
				return fmt.Errorf("store re-wrapped data key: %w", err)
			}
		}
		done = len(items)
		return nil
	})
	return done, err
}
