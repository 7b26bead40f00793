package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Teams that follow an identity provider's groups.
//
// A login through an OIDC provider with sync_groups hands its user's
// groups (mapped to team names) to SyncTeams: teams are created on first
// sight, marked managed by the provider (teams.managed_by), and the user's
// synced memberships (team_members.synced) are added and removed to match.
// Memberships set by hand — owners an admin named — are never removed by a
// sync, so owners kept by hand stay owners. A team kept by hand, or
// managed by another provider, with a group's name is left alone.

// ManagedBy is the teams.managed_by value of provider's synced teams.
func ManagedBy(provider string) string { return "oidc:" + provider }

// TeamSync is what one SyncTeams changed.
type TeamSync struct {
	Created, Joined, Left []string // team names
	// Skipped are groups whose team exists but is not managed by this
	// provider (kept by hand, or another provider's).
	Skipped []string
}

// Changed reports whether the sync changed anything.
func (s TeamSync) Changed() bool { return len(s.Created)+len(s.Joined)+len(s.Left) > 0 }

// SyncTeams makes userID's memberships in provider's managed teams match
// teams (valid team names), in one transaction.
func (s *Store) SyncTeams(ctx context.Context, userID, provider string, teams []string) (TeamSync, error) {
	var out TeamSync
	managedBy := ManagedBy(provider)
	err := s.Tx(ctx, func(tx pgx.Tx) error {
		out = TeamSync{}
		var keep []string
		for _, name := range teams {
			var teamID, by string
			var created bool
			err := tx.QueryRow(ctx, `WITH ins AS (
					INSERT INTO teams (name, managed_by) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id, managed_by)
				SELECT id, managed_by, true FROM ins
				UNION ALL SELECT id, managed_by, false FROM teams WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM ins)`,
				name, managedBy).Scan(&teamID, &by, &created)
			if err != nil {
				return fmt.Errorf("team %s: %w", name, err)
			}
			if by != managedBy {
				out.Skipped = append(out.Skipped, name)
				continue
			}
			if created {
				out.Created = append(out.Created, name)
			}
			keep = append(keep, name)
			tag, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, user_id, role, synced) VALUES ($1, $2, 'member', true)
				ON CONFLICT (team_id, user_id) DO NOTHING`, teamID, userID)
			if err != nil {
				return fmt.Errorf("join team %s: %w", name, err)
			}
			if tag.RowsAffected() == 1 {
				out.Joined = append(out.Joined, name)
			}
		}
		rows, err := tx.Query(ctx, `DELETE FROM team_members tm USING teams t
			WHERE tm.team_id = t.id AND tm.user_id = $1 AND tm.synced AND t.managed_by = $2 AND t.name <> ALL($3::text[])
			RETURNING t.name`, userID, managedBy, append([]string{}, keep...))
		if err != nil {
			return fmt.Errorf("leave teams: %w", err)
		}
		if out.Left, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("leave teams: %w", err)
		}
		slices.Sort(out.Left)
		return nil
	})
	if err != nil {
		return TeamSync{}, fmt.Errorf("sync teams of user %s from %s: %w", userID, provider, err)
	}
	return out, nil
}

// SetUserGroups records the groups userID's identity provider sent at
// login (access classes and allow-lists read them).
func (s *Store) SetUserGroups(ctx context.Context, userID string, groups []string) error {
	if groups == nil {
		groups = []string{}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE users SET idp_groups = $2 WHERE id = $1 AND idp_groups IS DISTINCT FROM $2`, userID, groups); err != nil {
		return fmt.Errorf("set groups of user %s: %w", userID, err)
	}
	return nil
}

// teamManaged reports whether teamID follows an identity provider.
func teamManaged(ctx context.Context, tx pgx.Tx, teamID string) (bool, error) {
	var by string
	if err := tx.QueryRow(ctx, `SELECT managed_by FROM teams WHERE id = $1`, teamID).Scan(&by); err != nil {
		return false, fmt.Errorf("get team: %w", err)
	}
	return by != "", nil
}

// changeManagedOwners is an admin's only hand edit of a managed team:
// named owners are kept by hand (a sync never removes them); a removed
// owner becomes a synced member again, whom the next sync keeps or
// removes by the user's groups.
func changeManagedOwners(ctx context.Context, tx pgx.Tx, teamID string, ch TeamChange) error {
	if len(ch.AddOwners) > 0 {
		ids, err := resolveUsers(ctx, tx, ch.AddOwners)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, user_id, role, synced)
			SELECT $1, u, 'owner', false FROM (SELECT DISTINCT unnest($2::uuid[]) AS u) AS users
			ON CONFLICT (team_id, user_id) DO UPDATE SET role = 'owner', synced = false`, teamID, ids); err != nil {
			return fmt.Errorf("add owners: %w", err)
		}
	}
	if len(ch.RemoveOwners) > 0 {
		ids, err := resolveUsers(ctx, tx, ch.RemoveOwners)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE team_members SET role = 'member', synced = true
			WHERE team_id = $1 AND user_id = ANY($2) AND role = 'owner'`, teamID, ids); err != nil {
			return fmt.Errorf("remove owners: %w", err)
		}
	}
	_, err := tx.Exec(ctx, `UPDATE teams SET updated_at = now() WHERE id = $1`, teamID)
	return err
}
