package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/server/identity"
)

// Team roles.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// More errors for team changes.
var (
	// ErrForbidden: the caller can see the row but may not make this change.
	ErrForbidden = errors.New("forbidden")
	// ErrLastOwner: the change would leave a team without an owner.
	ErrLastOwner = errors.New("a team needs at least one owner")
	// ErrTeamOwnsProjects: a team that still owns projects cannot be deleted.
	ErrTeamOwnsProjects = errors.New("team still owns projects")
	// ErrManagedTeam: the team follows an identity provider's group; its
	// members, name and existence are not edited by hand (admins may only
	// add and remove owners).
	ErrManagedTeam = errors.New("team is managed by the identity provider")
)

// Team is a team with its members' handles.
type Team struct {
	ID        string
	Name      string
	ManagedBy string   // "oidc:<provider>" for a team synced from an IdP's groups; "" when kept by hand
	Owners    []string // handles, sorted
	Members   []string // handles of non-owner members, sorted
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TeamChange is a team update; empty fields change nothing. Users are named
// by handle or email. Changes apply in field order: rename, add owners
// (adding or promoting), add members (existing owners stay owners), remove
// owners (demoting them to members), remove members (leaving the team).
type TeamChange struct {
	Rename        string
	AddOwners     []string
	AddMembers    []string
	RemoveOwners  []string
	RemoveMembers []string
}

// CreateTeam creates team name with the caller as an owner, plus the given
// owners and members (handles or emails). ErrConflict when the name is taken,
// *UnknownUsersError when a user does not exist.
func (s *Store) CreateTeam(ctx context.Context, id *identity.Identity, name string, owners, members []string) (*Team, error) {
	if id == nil || id.IsServiceAccount() || id.UserID == "" {
		return nil, ErrForbidden
	}
	var teamID string
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO teams (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id`, name).Scan(&teamID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("insert team: %w", err)
		}
		ownerIDs, err := resolveUsers(ctx, tx, owners)
		if err != nil {
			return err
		}
		memberIDs, err := resolveUsers(ctx, tx, members)
		if err != nil {
			return err
		}
		if err := setRole(ctx, tx, teamID, memberIDs, RoleMember, false); err != nil {
			return err
		}
		return setRole(ctx, tx, teamID, append(ownerIDs, id.UserID), RoleOwner, true)
	})
	if err != nil {
		return nil, wrapTeamErr("create team", name, err)
	}
	return s.teamByID(ctx, s.pool, teamID)
}

// TeamFor returns team name if the caller is a member of it or an admin;
// ErrNotFound otherwise, exactly as when it does not exist.
func (s *Store) TeamFor(ctx context.Context, id *identity.Identity, name string) (*Team, error) {
	teamID, _, err := teamAccess(ctx, s.pool, id, name, false, false)
	if err != nil {
		return nil, wrapTeamErr("get team", name, err)
	}
	return s.teamByID(ctx, s.pool, teamID)
}

// ListTeams returns up to limit teams named after `after` (keyset
// pagination, by name): the caller's teams, or every team for admins.
func (s *Store) ListTeams(ctx context.Context, id *identity.Identity, after string, limit int) ([]Team, error) {
	if id == nil || id.IsServiceAccount() {
		return nil, ErrForbidden
	}
	if id.Admin {
		return s.ListEveryTeam(ctx, after, limit)
	}
	rows, err := s.pool.Query(ctx, `SELECT t.id, t.name, t.managed_by, t.created_at, t.updated_at FROM teams t
			JOIN team_members tm ON tm.team_id = t.id AND tm.user_id = $3
			WHERE t.name > $1 ORDER BY t.name LIMIT $2`, after, limit, id.UserID)
	return s.collectTeams(ctx, rows, err)
}

// ListEveryTeam returns up to limit teams named after `after`, whoever
// is in them: for admins, and for everyone when the server's teams policy
// lists all teams (config.TeamsPolicy.ListAll).
func (s *Store) ListEveryTeam(ctx context.Context, after string, limit int) ([]Team, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, managed_by, created_at, updated_at FROM teams
			WHERE name > $1 ORDER BY name LIMIT $2`, after, limit)
	return s.collectTeams(ctx, rows, err)
}

func (s *Store) collectTeams(ctx context.Context, rows pgx.Rows, err error) ([]Team, error) {
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	teams, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Team, error) {
		var t Team
		err := r.Scan(&t.ID, &t.Name, &t.ManagedBy, &t.CreatedAt, &t.UpdatedAt)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	if err := loadMembers(ctx, s.pool, teams); err != nil {
		return nil, err
	}
	return teams, nil
}

// TeamsOf returns the names of the teams userID belongs to, sorted.
func (s *Store) TeamsOf(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.name FROM teams t JOIN team_members tm ON tm.team_id = t.id
		WHERE tm.user_id = $1 ORDER BY t.name`, userID)
	if err != nil {
		return nil, fmt.Errorf("teams of user %s: %w", userID, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("teams of user %s: %w", userID, err)
	}
	return names, nil
}

// UsableTeams returns the names of the teams the caller may own projects
// through: their teams, or every team for admins (at most 1000).
func (s *Store) UsableTeams(ctx context.Context, id *identity.Identity) ([]string, error) {
	switch {
	case id == nil || id.IsServiceAccount():
		return nil, nil
	case id.Admin:
		rows, err := s.pool.Query(ctx, `SELECT name FROM teams ORDER BY name LIMIT 1000`)
		if err != nil {
			return nil, fmt.Errorf("list teams: %w", err)
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	default:
		return s.TeamsOf(ctx, id.UserID)
	}
}

// UpdateTeam applies ch to team name. Team owners and admins may change a
// team; members get ErrForbidden, everyone else ErrNotFound. A team managed
// by an identity provider is ErrManagedTeam to its members, except for an
// admin adding or removing owners. The change is
// all or nothing: a team left without owners is ErrLastOwner.
func (s *Store) UpdateTeam(ctx context.Context, id *identity.Identity, name string, ch TeamChange) (*Team, error) {
	var teamID string
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		var err error
		var role string
		teamID, role, err = teamAccess(ctx, tx, id, name, false, true)
		if err != nil {
			return err
		}
		managed, err := teamManaged(ctx, tx, teamID)
		if err != nil {
			return err
		}
		if managed && (!id.Admin || ch.Rename != "" || len(ch.AddMembers) > 0 || len(ch.RemoveMembers) > 0) {
			return ErrManagedTeam
		}
		if !id.Admin && role != RoleOwner {
			return ErrForbidden
		}
		if managed {
			return changeManagedOwners(ctx, tx, teamID, ch)
		}
		if ch.Rename != "" && ch.Rename != name {
			_, err := tx.Exec(ctx, `UPDATE teams SET name = $2 WHERE id = $1`, teamID, ch.Rename)
			if code, _ := pgCode(err); code == codeUniqueViolation {
				return ErrConflict
			}
			if err != nil {
				return fmt.Errorf("rename: %w", err)
			}
		}
		steps := []struct {
			refs []string
			fn   func([]string) error
		}{
			{ch.AddOwners, func(ids []string) error { return setRole(ctx, tx, teamID, ids, RoleOwner, true) }},
			{ch.AddMembers, func(ids []string) error { return setRole(ctx, tx, teamID, ids, RoleMember, false) }},
			{ch.RemoveOwners, func(ids []string) error {
				_, err := tx.Exec(ctx, `UPDATE team_members SET role = 'member' WHERE team_id = $1 AND user_id = ANY($2)`, teamID, ids)
				return err
			}},
			{ch.RemoveMembers, func(ids []string) error {
				_, err := tx.Exec(ctx, `DELETE FROM team_members WHERE team_id = $1 AND user_id = ANY($2)`, teamID, ids)
				return err
			}},
		}
		for _, st := range steps {
			if len(st.refs) == 0 {
				continue
			}
			ids, err := resolveUsers(ctx, tx, st.refs)
			if err != nil {
				return err
			}
			if err := st.fn(ids); err != nil {
				return fmt.Errorf("change members: %w", err)
			}
		}
		var owners int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM team_members WHERE team_id = $1 AND role = 'owner'`, teamID).Scan(&owners); err != nil {
			return fmt.Errorf("count owners: %w", err)
		}
		if owners == 0 {
			return ErrLastOwner
		}
		_, err = tx.Exec(ctx, `UPDATE teams SET updated_at = now() WHERE id = $1`, teamID)
		return err
	})
	if err != nil {
		return nil, wrapTeamErr("update team", name, err)
	}
	return s.teamByID(ctx, s.pool, teamID)
}

// DeleteTeam deletes team name. Team owners and admins may; members get
// ErrForbidden, others ErrNotFound. A team that owns projects is
// ErrTeamOwnsProjects.
func (s *Store) DeleteTeam(ctx context.Context, id *identity.Identity, name string) error {
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		teamID, role, err := teamAccess(ctx, tx, id, name, false, true)
		if err != nil {
			return err
		}
		if managed, err := teamManaged(ctx, tx, teamID); err != nil || managed {
			if err == nil {
				err = ErrManagedTeam
			}
			return err
		}
		if !id.Admin && role != RoleOwner {
			return ErrForbidden
		}
		var owned bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM projects WHERE owner_team_id = $1)`, teamID).Scan(&owned); err != nil {
			return fmt.Errorf("check projects: %w", err)
		}
		if owned {
			return ErrTeamOwnsProjects
		}
		_, err = tx.Exec(ctx, `DELETE FROM teams WHERE id = $1`, teamID)
		if code, _ := pgCode(err); code == codeForeignKeyViolation {
			return ErrTeamOwnsProjects
		}
		return err
	})
	return wrapTeamErr("delete team", name, err)
}

// TeamProjects returns the names of the projects team teamID owns (up to limit).
func (s *Store) TeamProjects(ctx context.Context, teamID string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM projects WHERE owner_team_id = $1 ORDER BY name LIMIT $2`, teamID, limit)
	if err != nil {
		return nil, fmt.Errorf("projects of team: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// teamAccess finds team name and the caller's role in it. Non-members
// (except admins) get ErrNotFound; with needOwner, members get ErrForbidden.
// With lock, the team row is locked for the rest of the transaction.
func teamAccess(ctx context.Context, q querier, id *identity.Identity, name string, needOwner, lock bool) (teamID, role string, err error) {
	if id == nil || id.IsServiceAccount() {
		return "", "", ErrForbidden
	}
	sql := `SELECT t.id, COALESCE(tm.role, '') FROM teams t
		LEFT JOIN team_members tm ON tm.team_id = t.id AND tm.user_id = $2
		WHERE t.name = $1`
	if lock {
		sql += ` FOR UPDATE OF t`
	}
	err = q.QueryRow(ctx, sql, name, nullID(id.UserID)).Scan(&teamID, &role)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", "", ErrNotFound
	case err != nil:
		return "", "", fmt.Errorf("get team: %w", err)
	case id.Admin:
		return teamID, role, nil
	case role == "":
		return "", "", ErrNotFound
	case needOwner && role != RoleOwner:
		return "", "", ErrForbidden
	}
	return teamID, role, nil
}

// setRole makes userIDs members of teamID with role; with override an
// existing member's role changes, else it is kept.
func setRole(ctx context.Context, tx pgx.Tx, teamID string, userIDs []string, role string, override bool) error {
	if len(userIDs) == 0 {
		return nil
	}
	conflict := `DO NOTHING`
	if override {
		conflict = `DO UPDATE SET role = EXCLUDED.role`
	}
	_, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, user_id, role)
		SELECT $1, u, $3 FROM (SELECT DISTINCT unnest($2::uuid[]) AS u) AS users
		ON CONFLICT (team_id, user_id) `+conflict, teamID, userIDs, role)
	if err != nil {
		return fmt.Errorf("set %s role: %w", role, err)
	}
	return nil
}

func (s *Store) teamByID(ctx context.Context, q querier, teamID string) (*Team, error) {
	var t Team
	err := q.QueryRow(ctx, `SELECT id, name, managed_by, created_at, updated_at FROM teams WHERE id = $1`, teamID).
		Scan(&t.ID, &t.Name, &t.ManagedBy, &t.CreatedAt, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get team: %w", err)
	}
	teams := []Team{t}
	if err := loadMembers(ctx, q, teams); err != nil {
		return nil, err
	}
	return &teams[0], nil
}

// loadMembers fills Owners and Members of teams with one query.
func loadMembers(ctx context.Context, q querier, teams []Team) error {
	if len(teams) == 0 {
		return nil
	}
	idx := make(map[string]*Team, len(teams))
	ids := make([]string, len(teams))
	for i := range teams {
		idx[teams[i].ID] = &teams[i]
		ids[i] = teams[i].ID
		teams[i].Owners, teams[i].Members = []string{}, []string{}
	}
	rows, err := q.Query(ctx, `SELECT tm.team_id, tm.role, u.name FROM team_members tm
		JOIN users u ON u.id = tm.user_id WHERE tm.team_id = ANY($1) ORDER BY u.name`, ids)
	if err != nil {
		return fmt.Errorf("load team members: %w", err)
	}
	var teamID, role, name string
	_, err = pgx.ForEachRow(rows, []any{&teamID, &role, &name}, func() error {
		t := idx[teamID]
		if role == RoleOwner {
			t.Owners = append(t.Owners, name)
		} else {
			t.Members = append(t.Members, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load team members: %w", err)
	}
	return nil
}

func wrapTeamErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	var unknown *UnknownUsersError
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrForbidden) ||
		errors.Is(err, ErrLastOwner) || errors.Is(err, ErrTeamOwnsProjects) || errors.Is(err, ErrManagedTeam) || errors.As(err, &unknown) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// nullID turns an empty id into SQL NULL.
func nullID(id string) any {
	if id == "" {
		return nil
	}
	return id
}
