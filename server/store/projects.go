package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/server/identity"
)

// Project statuses (projects.status). The deployments controller maintains
// them; "deleting" is set by a delete request and ends with the row's removal.
const (
	StatusRunning   = "running"
	StatusStopped   = "stopped"
	StatusDeploying = "deploying"
	StatusFailed    = "failed"
	StatusDeleting  = "deleting"
)

// ErrOwnerDenied: the requested owner does not exist or the caller may not
// own projects through it. Both look the same to the caller.
var ErrOwnerDenied = errors.New("owner does not exist or you may not use it")

// Project is a row of projects with its owner's name.
type Project struct {
	ID, Name, Status, Owner string // Owner is "user:<name>" or "team:<name>"
	// AccessClass is who may use the app (config.ClassPublic, ...);
	// Visibility is derived from it: "public" or "private" (needs a login).
	AccessClass, Visibility  string
	ActiveDeployment         string // the default group's serving deployment id, or ""
	PrimaryDomain            string // the verified primary custom domain, or ""
	OwnerUserID, OwnerTeamID *string
	CreatedAt, UpdatedAt     time.Time
}

// NewProject is CreateProject's input. Owner is "user:<name>",
// "team:<name>", or empty for the caller. AccessClass defaults to public;
// the caller has checked it against the server's classes.
type NewProject struct {
	Name, AccessClass, Owner string
}

// ProjectChange is an update; nil fields are left alone.
type ProjectChange struct {
	AccessClass *string
	Owner       *string
}

// projectCols reads a project with its owner and the default group's active
// deployment id: the one read of the deployments table outside
// server/deploy's repository (which owns every other deployment query),
// joined here so a project listing stays one query; and its verified
// primary custom domain (server/domains), the app's URL when set.
const projectCols = `p.id, p.name, p.access_class, p.visibility, p.status, p.owner_user_id, p.owner_team_id, p.created_at, p.updated_at,
	CASE WHEN p.owner_user_id IS NOT NULL THEN 'user:' || u.name ELSE 'team:' || t.name END,
	COALESCE((SELECT d.deployment_id FROM deployments d
		WHERE d.project_id = p.id AND d.active AND d.deployment_group = 'default' AND d.environment = 'production'), ''),
	COALESCE((SELECT dm.domain FROM domains dm
		WHERE dm.project_id = p.id AND dm.is_primary AND dm.verified_at IS NOT NULL), '')`

const projectFrom = ` FROM projects p
	LEFT JOIN users u ON u.id = p.owner_user_id
	LEFT JOIN teams t ON t.id = p.owner_team_id`

func scanProject(row pgx.Row, extra ...any) (*Project, error) {
	var p Project
	dest := append([]any{&p.ID, &p.Name, &p.AccessClass, &p.Visibility, &p.Status, &p.OwnerUserID, &p.OwnerTeamID,
		&p.CreatedAt, &p.UpdatedAt, &p.Owner, &p.ActiveDeployment, &p.PrimaryDomain}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &p, nil
}

// CreateProject creates a project owned by np.Owner (default: the caller).
// ErrOwnerDenied when that owner does not exist or the caller is not it, not
// in the team, and not an admin; ErrConflict when the name is taken;
// ErrForbidden for service accounts.
func (s *Store) CreateProject(ctx context.Context, id *identity.Identity, np NewProject) (*Project, error) {
	if np.AccessClass == "" {
		np.AccessClass = "public"
	}
	var p *Project
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		userID, teamID, err := resolveOwner(ctx, tx, id, np.Owner)
		if err != nil {
			return err
		}
		var projectID string
		err = tx.QueryRow(ctx, `INSERT INTO projects (name, access_class, owner_user_id, owner_team_id)
			VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id`,
			np.Name, np.AccessClass, userID, teamID).Scan(&projectID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		p, err = scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+projectFrom+` WHERE p.id = $1`, projectID))
		return err
	})
	if err != nil {
		return nil, wrapProjectErr("create project", np.Name, err)
	}
	return p, nil
}

// ProjectFor returns project name if the caller has access a to it, and
// ErrNotFound both when it is missing and when the caller may not access it
// (see permissionsFor for the rule). A project being deleted can still be
// read (and deleted again), but AccessWrite and AccessDeploy get ErrDeleting.
func (s *Store) ProjectFor(ctx context.Context, id *identity.Identity, name string, a Access) (*Project, error) {
	p, perm, err := s.ProjectPermissions(ctx, id, name)
	if err != nil {
		return nil, err
	}
	if !perm.Can(a) {
		return nil, ErrNotFound
	}
	if p.Status == StatusDeleting && (a == AccessWrite || a == AccessDeploy) {
		return p, ErrDeleting
	}
	return p, nil
}

// ProjectPermissions returns project name with everything the caller may do
// with it. A caller with no access gets ErrNotFound, as for a missing project.
// Handlers use it to answer 403 to callers who can see a project but not,
// say, delete it.
func (s *Store) ProjectPermissions(ctx context.Context, id *identity.Identity, name string) (*Project, Permissions, error) {
	return projectPermissions(ctx, s.pool, id, name, false)
}

func projectPermissions(ctx context.Context, q querier, id *identity.Identity, name string, lock bool) (*Project, Permissions, error) {
	if id == nil {
		return nil, 0, ErrNotFound
	}
	var userID string
	if !id.IsServiceAccount() {
		userID = id.UserID
	}
	sql := `SELECT ` + projectCols + `, COALESCE(tm.role, '')` + projectFrom + `
		LEFT JOIN team_members tm ON tm.team_id = p.owner_team_id AND tm.user_id = $2
		WHERE p.name = $1`
	if lock {
		sql += ` FOR UPDATE OF p`
	}
	var role string
	p, err := scanProject(q.QueryRow(ctx, sql, name, nullID(userID)), &role)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get project %s: %w", name, err)
	}
	perm := permissionsFor(id, p, role)
	if perm == 0 {
		return nil, 0, ErrNotFound
	}
	return p, perm, nil
}

// ProjectByName returns a project without any authorization check, for
// controllers and the auth layer (binding service accounts).
func (s *Store) ProjectByName(ctx context.Context, name string) (*Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, `SELECT `+projectCols+projectFrom+` WHERE p.name = $1`, name))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get project %s: %w", name, err)
	}
	return p, err
}

// ListProjects returns up to limit projects the caller can read, named after
// `after`, ordered by name (keyset pagination). Admins see every project; a
// service account sees its own.
func (s *Store) ListProjects(ctx context.Context, id *identity.Identity, after string, limit int) ([]Project, error) {
	var rows pgx.Rows
	var err error
	switch {
	case id == nil:
		return nil, nil
	case id.IsServiceAccount():
		rows, err = s.pool.Query(ctx, `SELECT `+projectCols+projectFrom+`
			WHERE (p.id::text = $1 OR p.name = $2) AND p.name > $3 ORDER BY p.name LIMIT $4`,
			id.ServiceAccount.ProjectID, id.ServiceAccount.Project, after, limit)
	case id.Admin:
		rows, err = s.pool.Query(ctx, `SELECT `+projectCols+projectFrom+`
			WHERE p.name > $1 ORDER BY p.name LIMIT $2`, after, limit)
	default:
		// Two index range scans (own projects, team projects) merged by name.
		rows, err = s.pool.Query(ctx, `SELECT `+projectCols+` FROM (
				(SELECT * FROM projects WHERE owner_user_id = $1 AND name > $2 ORDER BY name LIMIT $3)
				UNION ALL
				(SELECT pr.* FROM projects pr JOIN team_members tm ON tm.team_id = pr.owner_team_id
				 WHERE tm.user_id = $1 AND pr.name > $2 ORDER BY pr.name LIMIT $3)
			) p
			LEFT JOIN users u ON u.id = p.owner_user_id
			LEFT JOIN teams t ON t.id = p.owner_team_id
			ORDER BY p.name LIMIT $3`, id.UserID, after, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Project, error) {
		p, err := scanProject(r)
		if err != nil {
			return Project{}, err
		}
		return *p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return list, nil
}

// UpdateProject changes project name. Callers with AccessWrite may change
// the access class; moving the project to another owner needs AccessDelete on
// it (it gives the project away) and the right to own projects through the
// new owner. Callers who can read but not change it get ErrForbidden.
func (s *Store) UpdateProject(ctx context.Context, id *identity.Identity, name string, ch ProjectChange) (*Project, error) {
	var out *Project
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		p, perm, err := projectPermissions(ctx, tx, id, name, true)
		if err != nil {
			return err
		}
		if !perm.Can(AccessWrite) || (ch.Owner != nil && !perm.Can(AccessDelete)) {
			return ErrForbidden
		}
		if p.Status == StatusDeleting {
			return ErrDeleting
		}
		userID, teamID := p.OwnerUserID, p.OwnerTeamID
		if ch.Owner != nil {
			if userID, teamID, err = resolveOwner(ctx, tx, id, *ch.Owner); err != nil {
				return err
			}
		}
		class := p.AccessClass
		if ch.AccessClass != nil {
			class = *ch.AccessClass
		}
		_, err = tx.Exec(ctx, `UPDATE projects SET access_class = $2, owner_user_id = $3, owner_team_id = $4, updated_at = now()
			WHERE id = $1`, p.ID, class, userID, teamID)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		out, err = scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+projectFrom+` WHERE p.id = $1`, p.ID))
		return err
	})
	if err != nil {
		return nil, wrapProjectErr("update project", name, err)
	}
	return out, nil
}

// MarkProjectDeleting starts deleting project name: its status becomes
// "deleting" and the project controller cleans up and removes the row.
// Callers who can read but not delete it get ErrForbidden. Calling it again
// is harmless.
func (s *Store) MarkProjectDeleting(ctx context.Context, id *identity.Identity, name string) (*Project, error) {
	var out *Project
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		p, perm, err := projectPermissions(ctx, tx, id, name, true)
		if err != nil {
			return err
		}
		if !perm.Can(AccessDelete) {
			return ErrForbidden
		}
		if _, err := tx.Exec(ctx, `UPDATE projects SET status = 'deleting', updated_at = now()
			WHERE id = $1 AND status <> 'deleting'`, p.ID); err != nil {
			return fmt.Errorf("mark deleting: %w", err)
		}
		out, err = scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+projectFrom+` WHERE p.id = $1`, p.ID))
		return err
	})
	if err != nil {
		return nil, wrapProjectErr("delete project", name, err)
	}
	return out, nil
}

// SetProjectStatus records a project's status as observed by the
// deployments controller. A project being deleted keeps "deleting".
func (s *Store) SetProjectStatus(ctx context.Context, projectID, status string) error {
	_, err := s.pool.Exec(ctx, `UPDATE projects SET status = $2, updated_at = now()
		WHERE id = $1 AND status <> 'deleting' AND status <> $2`, projectID, status)
	if err != nil {
		return fmt.Errorf("set status of project %s to %s: %w", projectID, status, err)
	}
	return nil
}

// PurgeProject removes a project row after the controller cleaned up its
// resources. Only projects marked "deleting" are removed; ErrNotFound
// otherwise. Rows of other tables that reference the project must be gone
// or cascade.
func (s *Store) PurgeProject(ctx context.Context, projectID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM projects WHERE id = $1 AND status = 'deleting'`, projectID)
	if err != nil {
		return fmt.Errorf("purge project %s: %w", projectID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// resolveOwner turns an owner reference into the owner columns, checking
// that the caller may own projects through it: "user:<self>" (anyone),
// "team:<t>" (members of t), anything existing (admins).
func resolveOwner(ctx context.Context, tx pgx.Tx, id *identity.Identity, owner string) (userID, teamID *string, err error) {
	if id == nil || id.IsServiceAccount() || id.UserID == "" {
		return nil, nil, ErrForbidden
	}
	kind, name, _ := strings.Cut(owner, ":")
	if owner == "" {
		kind, name = "user", id.Name
	}
	var ref string
	switch kind {
	case "user":
		if name == id.Name {
			return &id.UserID, nil, nil
		}
		if !id.Admin {
			return nil, nil, ErrOwnerDenied
		}
		err = tx.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, name).Scan(&ref)
		userID = &ref
	case "team":
		var role string
		err = tx.QueryRow(ctx, `SELECT t.id, COALESCE(tm.role, '') FROM teams t
			LEFT JOIN team_members tm ON tm.team_id = t.id AND tm.user_id = $2
			WHERE t.name = $1 FOR SHARE OF t`, name, id.UserID).Scan(&ref, &role)
		if err == nil && role == "" && !id.Admin {
			return nil, nil, ErrOwnerDenied
		}
		teamID = &ref
	default:
		return nil, nil, ErrOwnerDenied
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, ErrOwnerDenied
	}
	if err != nil {
		return nil, nil, fmt.Errorf("resolve owner %s: %w", owner, err)
	}
	return userID, teamID, nil
}

func wrapProjectErr(op, name string, err error) error {
	for _, e := range []error{ErrNotFound, ErrConflict, ErrForbidden, ErrDeleting, ErrOwnerDenied} {
		if errors.Is(err, e) {
			return err
		}
	}
	if code, c := pgCode(err); code == codeCheckViolation {
		return fmt.Errorf("%s %s: invalid value (constraint %s): %w", op, name, c, err)
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}
