package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/identity"
)

// dbtx is what auth needs from the pool for its own tables.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// userInfo is a user as auth sees it.
type userInfo struct {
	ID, Email, Name string
	Admin           bool
}

func (u *userInfo) identity() *identity.Identity {
	return &identity.Identity{UserID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin}
}

func (u *userInfo) api() api.User {
	return api.User{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin, Teams: []string{}}
}

var (
	errNoUser    = errors.New("no such user")
	errNoProject = errors.New("no such project")
)

// userStore is the part of the server's store auth depends on.
type userStore interface {
	// upsertUser creates the user on first login (the handle derived from
	// the email) and returns it; admin=true promotes, never demotes.
	upsertUser(ctx context.Context, email, displayName string, admin bool) (*userInfo, error)
	userByID(ctx context.Context, id string) (*userInfo, error)
	// writableProject returns the id of project name when id may change
	// it, errNoProject otherwise (not-yours looks like not-found).
	writableProject(ctx context.Context, id *identity.Identity, name string) (string, error)
}

// sqlUsers implements userStore with SQL against the 0001 core tables.
type sqlUsers struct{ db dbtx }

var nonHandle = regexp.MustCompile(`[^a-z0-9-]+`)

// handleFor derives a user handle (users_name_format) from an email.
func handleFor(email string) string {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	h := strings.Trim(nonHandle.ReplaceAllString(strings.ReplaceAll(local, ".", "-"), "-"), "-")
	if len(h) > 55 {
		h = strings.TrimRight(h[:55], "-")
	}
	if h == "" {
		h = "user"
	}
	return h
}

func (q sqlUsers) upsertUser(ctx context.Context, email, _ string, admin bool) (*userInfo, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	base := handleFor(email)
	for i := 1; i <= 50; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		var u userInfo
		err := q.db.QueryRow(ctx, `
			INSERT INTO users (email, name, admin) VALUES ($1, $2, $3)
			ON CONFLICT (email) DO UPDATE SET admin = users.admin OR EXCLUDED.admin
			RETURNING id::text, email, name, admin`, email, name, admin).Scan(&u.ID, &u.Email, &u.Name, &u.Admin)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.ConstraintName == "users_name_key" {
			continue // handle taken by another email: try the next suffix
		}
		if err != nil {
			return nil, fmt.Errorf("upsert user %s: %w", email, err)
		}
		return &u, nil
	}
	return nil, fmt.Errorf("upsert user %s: no free handle for %q", email, base)
}

func (q sqlUsers) userByID(ctx context.Context, id string) (*userInfo, error) {
	var u userInfo
	err := q.db.QueryRow(ctx, `SELECT id::text, email, name, admin FROM users WHERE id::text = $1`, id).
		Scan(&u.ID, &u.Email, &u.Name, &u.Admin)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", id, err)
	}
	return &u, nil
}

func (q sqlUsers) writableProject(ctx context.Context, id *identity.Identity, name string) (string, error) {
	if id == nil || id.IsServiceAccount() {
		return "", errNoProject
	}
	var pid string
	err := q.db.QueryRow(ctx, `
		SELECT p.id::text FROM projects p
		WHERE p.name = $1 AND (
			$3 OR p.owner_user_id::text = $2 OR EXISTS (
				SELECT 1 FROM team_members m WHERE m.team_id = p.owner_team_id AND m.user_id::text = $2))`,
		name, id.UserID, id.Admin).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errNoProject
	}
	if err != nil {
		return "", fmt.Errorf("project %s: %w", name, err)
	}
	return pid, nil
}
