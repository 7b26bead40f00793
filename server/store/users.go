package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// User is a row of users.
type User struct {
	ID        string
	Email     string
	Name      string // unique handle, shown as owner "user:<name>"
	Admin     bool
	CreatedAt time.Time
}

const userCols = `id, email, name, admin, created_at`

func scanUser(row pgx.Row) (*User, error) {
	var u User
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Admin, &u.CreatedAt); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &u, nil
}

// UpsertUser returns the user with this email, creating it on first login.
// The admin flag is set to admin on every call: the login configuration
// (local users, OIDC admin_emails) is the source of truth.
//
// A new user's handle comes from name when given (e.g. a preferred username),
// else from the email's local part, reduced to a DNS label and de-duplicated
// with a numeric suffix ("niklas", "niklas-2", ...). An existing user keeps
// their handle.
func (s *Store) UpsertUser(ctx context.Context, email, name string, admin bool) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" {
		return nil, fmt.Errorf("upsert user: %q is not an email address", email)
	}
	if name == "" {
		name = local
	}
	base := Handle(name)
	for i := 1; i <= 100; i++ {
		u, err := scanUser(s.pool.QueryRow(ctx,
			`UPDATE users SET admin = $2 WHERE email = $1 RETURNING `+userCols, email, admin))
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("upsert user %s: %w", email, err)
		}
		u, err = scanUser(s.pool.QueryRow(ctx,
			`INSERT INTO users (email, name, admin) VALUES ($1, $2, $3)
			 ON CONFLICT DO NOTHING RETURNING `+userCols, email, withSuffix(base, i), admin))
		if err == nil {
			s.log.Info("created user", "email", email, "name", u.Name, "admin", admin)
			return u, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("create user %s: %w", email, err)
		}
		// The handle is taken, or the same user logged in concurrently: retry.
	}
	return nil, fmt.Errorf("create user %s: no free handle near %q", email, base)
}

// Handle reduces s to a DNS label usable as a user handle: lower case,
// runs of other characters become one '-', at most 63 characters.
func Handle(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	h := b.String()
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-")
	}
	if h == "" {
		h = "user"
	}
	return h
}

func withSuffix(base string, i int) string {
	if i == 1 {
		return base
	}
	suf := "-" + strconv.Itoa(i)
	if len(base)+len(suf) > 63 {
		base = strings.TrimRight(base[:63-len(suf)], "-")
	}
	return base + suf
}

// UserByID returns the user with this id.
func (s *Store) UserByID(ctx context.Context, id string) (*User, error) {
	if !isUUID(id) {
		return nil, ErrNotFound
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, err
}

// UserByRef returns the user whose handle or email is ref.
func (s *Store) UserByRef(ctx context.Context, ref string) (*User, error) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userCols+` FROM users WHERE name = $1 OR email = $1 ORDER BY name = $1 DESC LIMIT 1`, ref))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get user %s: %w", ref, err)
	}
	return u, err
}

// UnknownUsersError lists user references (handles or emails) that match no user.
type UnknownUsersError struct{ Refs []string }

func (e *UnknownUsersError) Error() string {
	return "unknown user(s): " + strings.Join(e.Refs, ", ")
}

// resolveUsers maps handles or emails to distinct user ids inside tx.
func resolveUsers(ctx context.Context, tx pgx.Tx, refs []string) ([]string, error) {
	seen := make(map[string]bool, len(refs))
	var ids, missing []string
	for _, ref := range refs {
		key := strings.ToLower(strings.TrimSpace(ref))
		if seen[key] {
			continue
		}
		seen[key] = true
		var id string
		err := tx.QueryRow(ctx,
			`SELECT id FROM users WHERE name = $1 OR email = $1 ORDER BY name = $1 DESC LIMIT 1`, key).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			missing = append(missing, ref)
		case err != nil:
			return nil, fmt.Errorf("resolve user %s: %w", ref, err)
		case !slices.Contains(ids, id):
			ids = append(ids, id)
		}
	}
	if len(missing) > 0 {
		return nil, &UnknownUsersError{Refs: missing}
	}
	return ids, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
