package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
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
	Groups          []string // identity-provider groups at the last login
}

func (u *userInfo) identity() *identity.Identity {
	return &identity.Identity{UserID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin, Groups: u.Groups}
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
	// handle, else the email) and returns it; admin is set every time (the
	// login configuration is the source of truth).
	upsertUser(ctx context.Context, email, handle string, admin bool) (*userInfo, error)
	userByID(ctx context.Context, id string) (*userInfo, error)
	// userByRef finds a user by handle, email or id (errNoUser).
	userByRef(ctx context.Context, ref string) (*userInfo, error)
	// project returns the id of project name when id has access a to it,
	// errNoProject otherwise (not-yours looks like not-found).
	project(ctx context.Context, id *identity.Identity, name string, a store.Access) (string, error)
	// setGroups records the groups a login brought (groups.go).
	setGroups(ctx context.Context, userID string, groups []string) error
	// syncTeams makes the user's memberships in provider's managed teams
	// follow teams (groups.go).
	syncTeams(ctx context.Context, userID, provider string, teams []string) (store.TeamSync, error)
}

func (q storeUsers) setGroups(ctx context.Context, userID string, groups []string) error {
	return q.st.SetUserGroups(ctx, userID, groups)
}

func (q storeUsers) syncTeams(ctx context.Context, userID, provider string, teams []string) (store.TeamSync, error) {
	return q.st.SyncTeams(ctx, userID, provider, teams)
}

// storeUsers implements userStore with the server's store.
type storeUsers struct{ st *store.Store }

func fromStore(u *store.User) *userInfo {
	return &userInfo{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin}
}

func (q storeUsers) upsertUser(ctx context.Context, email, handle string, admin bool) (*userInfo, error) {
	u, err := q.st.UpsertUser(ctx, email, handle, admin)
	if err != nil {
		return nil, err
	}
	return fromStore(u), nil
}

func (q storeUsers) userByID(ctx context.Context, id string) (*userInfo, error) {
	u, err := q.st.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, err
	}
	return fromStore(u), nil
}

func (q storeUsers) userByRef(ctx context.Context, ref string) (*userInfo, error) {
	u, err := q.st.UserByID(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		u, err = q.st.UserByRef(ctx, ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, err
	}
	return fromStore(u), nil
}

func (q storeUsers) project(ctx context.Context, id *identity.Identity, name string, a store.Access) (string, error) {
	p, err := q.st.ProjectFor(ctx, id, name, a)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", errNoProject
	case errors.Is(err, store.ErrDeleting):
		return "", httpx.NewError(http.StatusConflict, fmt.Sprintf("project '%s' is being deleted", name))
	case err != nil:
		return "", err
	}
	return p.ID, nil
}
