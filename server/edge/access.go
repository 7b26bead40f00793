package edge

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/identity"
)

// Who may use an app, decided from memory (the route table's snapshot).
//
// The owner, members of the owning team, the project's app users (a user,
// or every member of an app team), admins, and the project's service
// accounts may always use its app. Everyone else depends on the project's
// access class:
//
//	public         anyone (the edge asks nobody to log in)
//	authenticated  any logged-in user matching server.hcl access { authenticated { ... } } (everyone without it)
//	<named class>  logged-in users matching the class's email domains or groups
//	private        nobody else: the app answers like a missing project (404)
//
// A logged-in user an authenticated or named class turns away gets a 403
// (DeniedError) that names the class; a private app never admits it exists.
// A class the configuration no longer defines admits nobody else (fail
// closed).

// DeniedError is CanAccess's answer for a logged-in user whom the app's
// access class turns away: the edge answers 403 with its message.
type DeniedError struct {
	Project, Class string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("Your account may not use '%s': it is open to the '%s' access class only. Ask its owners to add you as an app user.", e.Project, e.Class)
}

// accessPolicy is the server's access configuration.
type accessPolicy struct {
	authenticated config.AccessRule
	classes       map[string]config.AccessRule
}

func newAccessPolicy(a *config.Access) accessPolicy {
	p := accessPolicy{authenticated: a.AuthenticatedRule(), classes: map[string]config.AccessRule{}}
	if a != nil {
		for _, c := range a.Classes {
			p.classes[c.Name] = c.Rule()
		}
	}
	return p
}

// CanAccess is Options.CanAccess from memory (see the rule above): true
// admits id; false (nil error) is "not found"; a *DeniedError is "forbidden".
func (t *Table) CanAccess(_ context.Context, id *identity.Identity, project string) (bool, error) {
	s := t.snap.Load()
	e := s.byName[project]
	switch {
	case id == nil || e == nil || e.deleting:
		return false, nil
	case id.IsServiceAccount():
		sa := id.ServiceAccount
		return sa.ProjectID == e.id || (sa.ProjectID == "" && sa.Project == project), nil
	case id.Admin:
		return true, nil
	case id.UserID == "":
		return false, nil
	case s.insider(e, id.UserID):
		return true, nil
	}
	var rule config.AccessRule
	switch e.class {
	case config.ClassPublic:
		return true, nil
	case config.ClassPrivate:
		return false, nil
	case config.ClassAuthenticated:
		rule = t.policy.authenticated
	default:
		var ok bool
		if rule, ok = t.policy.classes[e.class]; !ok {
			t.log.Warn("edge: project has an access class the configuration does not define; only its owners and app users may use it",
				"project", project, "class", e.class)
			return false, nil
		}
	}
	if rule.Matches(id.Email, id.Groups) {
		return true, nil
	}
	return false, &DeniedError{Project: project, Class: e.class}
}

// insider reports whether userID owns e, is in its owning team, or is one
// of its app users (directly or through an app team).
func (s *snapshot) insider(e *entry, userID string) bool {
	switch {
	case e.ownerUser != "" && e.ownerUser == userID,
		e.ownerTeam != "" && s.members[e.ownerTeam][userID],
		e.appUsers[userID]:
		return true
	}
	return slices.ContainsFunc(e.appTeams, func(team string) bool { return s.members[team][userID] })
}

// isDenied reports whether err is CanAccess's "forbidden".
func isDenied(err error) (*DeniedError, bool) {
	var d *DeniedError
	return d, errors.As(err, &d)
}

// loadAppUsers adds the app users and app teams of the projects in s
// (all, or those matching where with its one argument, as loadProjects).
func loadAppUsers(ctx context.Context, q querier, s *snapshot, where string, arg any) error {
	sql := `SELECT a.project_id::text, COALESCE(a.user_id::text, ''), COALESCE(a.team_id::text, '')
		FROM project_app_users a JOIN projects p ON p.id = a.project_id`
	var args []any
	if where != "" {
		sql += ` WHERE ` + where
		args = append(args, arg)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("load app users: %w", err)
	}
	var pid, user, team string
	_, err = pgx.ForEachRow(rows, []any{&pid, &user, &team}, func() error {
		e := s.byID[pid]
		if e == nil {
			return nil
		}
		if user != "" {
			if e.appUsers == nil {
				e.appUsers = map[string]bool{}
			}
			e.appUsers[user] = true
		}
		if team != "" {
			e.appTeams = append(e.appTeams, team)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load app users: %w", err)
	}
	return nil
}
