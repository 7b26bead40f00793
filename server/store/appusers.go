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

// App users are people who may use a project's running app through the
// edge without any right on the project: a user ("user:<handle>") or every
// member of a team ("team:<name>"). They are not in permissionsFor, so
// every project API (settings, deployments, logs, variables) treats them
// like strangers: not found.

// AppUser is one grant.
type AppUser struct {
	Subject   string // "user:<handle>" or "team:<name>"
	Email     string // the user's email; "" for teams
	CreatedAt time.Time
}

// ErrUnknownTeam: an app-user grant names a team that does not exist.
var ErrUnknownTeam = errors.New("no such team")

// AddAppUser lets subject ("user:<handle or email>" or "team:<name>") use
// project name's app. The caller needs AccessWrite on the project.
// ErrConflict when the grant exists; *UnknownUsersError or ErrUnknownTeam
// when the subject does not exist.
func (s *Store) AddAppUser(ctx context.Context, id *identity.Identity, name, subject string) (*AppUser, error) {
	var out *AppUser
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		p, err := appUsersProject(ctx, tx, id, name, AccessWrite)
		if err != nil {
			return err
		}
		userID, teamID, err := resolveSubject(ctx, tx, subject)
		if err != nil {
			return err
		}
		var created time.Time
		err = tx.QueryRow(ctx, `INSERT INTO project_app_users (project_id, user_id, team_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING RETURNING created_at`, p.ID, userID, teamID).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		list, err := listAppUsers(ctx, tx, p.ID, userID, teamID)
		if err != nil {
			return err
		}
		if len(list) == 1 {
			out = &list[0]
		}
		return nil
	})
	if err != nil {
		return nil, wrapAppUserErr("add app user to", name, err)
	}
	return out, nil
}

// ListAppUsers returns project name's app users, users first, by name.
// The caller needs AccessRead on the project.
func (s *Store) ListAppUsers(ctx context.Context, id *identity.Identity, name string) ([]AppUser, error) {
	p, err := appUsersProject(ctx, s.pool, id, name, AccessRead)
	if err != nil {
		return nil, wrapAppUserErr("list app users of", name, err)
	}
	list, err := listAppUsers(ctx, s.pool, p.ID, nil, nil)
	if err != nil {
		return nil, wrapAppUserErr("list app users of", name, err)
	}
	return list, nil
}

// RemoveAppUser withdraws subject's grant on project name. The caller
// needs AccessWrite; ErrNotFound when there is no such grant.
func (s *Store) RemoveAppUser(ctx context.Context, id *identity.Identity, name, subject string) error {
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		p, err := appUsersProject(ctx, tx, id, name, AccessWrite)
		if err != nil {
			return err
		}
		userID, teamID, err := resolveSubject(ctx, tx, subject)
		var unknown *UnknownUsersError
		if errors.As(err, &unknown) || errors.Is(err, ErrUnknownTeam) {
			return errNoGrant
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM project_app_users WHERE project_id = $1
			AND user_id IS NOT DISTINCT FROM $2 AND team_id IS NOT DISTINCT FROM $3`, p.ID, userID, teamID)
		if err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errNoGrant
		}
		return nil
	})
	return wrapAppUserErr("remove app user from", name, err)
}

// errNoGrant: RemoveAppUser found no such grant (ErrNotFound for callers).
var errNoGrant = fmt.Errorf("no such app user: %w", ErrNotFound)

// ErrNoGrant reports whether err is RemoveAppUser's "no such app user"
// (rather than "no such project").
func ErrNoGrant(err error) bool { return errors.Is(err, errNoGrant) }

// appUsersProject checks the caller's access a to project name: service
// accounts may only deploy, so they never manage or list app users.
func appUsersProject(ctx context.Context, q querier, id *identity.Identity, name string, a Access) (*Project, error) {
	p, perm, err := projectPermissions(ctx, q, id, name, false)
	if err != nil {
		return nil, err
	}
	if id.IsServiceAccount() || !perm.Can(a) {
		if perm.Can(AccessRead) {
			return nil, ErrForbidden
		}
		return nil, ErrNotFound
	}
	if a == AccessWrite && p.Status == StatusDeleting {
		return nil, ErrDeleting
	}
	return p, nil
}

// resolveSubject turns "user:<handle or email>" or "team:<name>" into ids.
func resolveSubject(ctx context.Context, tx pgx.Tx, subject string) (userID, teamID *string, err error) {
	kind, ref, _ := strings.Cut(subject, ":")
	switch kind {
	case "user":
		ids, err := resolveUsers(ctx, tx, []string{ref})
		if err != nil {
			return nil, nil, err
		}
		return &ids[0], nil, nil
	case "team":
		var tid string
		err := tx.QueryRow(ctx, `SELECT id FROM teams WHERE name = $1`, strings.ToLower(ref)).Scan(&tid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, ErrUnknownTeam
		}
		if err != nil {
			return nil, nil, fmt.Errorf("resolve team %s: %w", ref, err)
		}
		return nil, &tid, nil
	}
	return nil, nil, fmt.Errorf("app user %q is not user:<name> or team:<name>: %w", subject, ErrForbidden)
}

// listAppUsers lists a project's grants (or the one of userID/teamID).
func listAppUsers(ctx context.Context, q querier, projectID string, userID, teamID *string) ([]AppUser, error) {
	sql := `SELECT CASE WHEN a.user_id IS NOT NULL THEN 'user:' || u.name ELSE 'team:' || t.name END,
			COALESCE(u.email, ''), a.created_at
		FROM project_app_users a
		LEFT JOIN users u ON u.id = a.user_id
		LEFT JOIN teams t ON t.id = a.team_id
		WHERE a.project_id = $1`
	args := []any{projectID}
	if userID != nil || teamID != nil {
		sql += ` AND a.user_id IS NOT DISTINCT FROM $2 AND a.team_id IS NOT DISTINCT FROM $3`
		args = append(args, userID, teamID)
	}
	rows, err := q.Query(ctx, sql+` ORDER BY a.user_id IS NULL, 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("list app users: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppUser, error) {
		var a AppUser
		err := r.Scan(&a.Subject, &a.Email, &a.CreatedAt)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list app users: %w", err)
	}
	return list, nil
}

func wrapAppUserErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var unknown *UnknownUsersError
	for _, e := range []error{ErrNotFound, ErrConflict, ErrForbidden, ErrDeleting, ErrUnknownTeam} {
		if errors.Is(err, e) {
			return err
		}
	}
	if errors.As(err, &unknown) {
		return err
	}
	return fmt.Errorf("%s project %s: %w", op, name, err)
}
