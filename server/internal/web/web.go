// Package web holds small request helpers shared by the server's own
// handlers: the caller check, the project of a request, keyset pagination.
package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// Pagination bounds for ?limit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Caller returns the request's identity, or a 401 error for anonymous calls.
func Caller(r *http.Request) (*identity.Identity, error) {
	id := identity.From(r.Context())
	if id == nil {
		return nil, httpx.NewError(http.StatusUnauthorized, "authentication required", "Run 'rise login' first.")
	}
	return id, nil
}

// UserCaller is Caller for routes service accounts may not use; what
// completes "Service accounts cannot ...".
func UserCaller(r *http.Request, what string) (*identity.Identity, error) {
	id, err := Caller(r)
	if err != nil {
		return nil, err
	}
	if id.IsServiceAccount() {
		return nil, httpx.Errorf(http.StatusForbidden, "Service accounts cannot %s; they may only deploy their own project.", what)
	}
	return id, nil
}

// Page reads ?limit (default 100, max 1000) and ?cursor (opaque, from a
// previous page's next_cursor) and returns the name to continue after.
func Page(r *http.Request) (after string, limit int, err error) {
	q := r.URL.Query()
	limit = DefaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return "", 0, httpx.Errorf(http.StatusBadRequest, "limit must be a whole number from 1 to %d", MaxLimit)
		}
		limit = n
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 || len(b) > 255 {
			return "", 0, httpx.NewError(http.StatusBadRequest, "invalid cursor: pass the next_cursor of the previous page unchanged")
		}
		after = string(b)
		if !PlausibleName(after) {
			return "", 0, httpx.NewError(http.StatusBadRequest, "invalid cursor: pass the next_cursor of the previous page unchanged")
		}
	}
	return after, limit, nil
}

// Cursor is the opaque cursor continuing after name.
func Cursor(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

// PageOf turns rows fetched with limit+1 into one page: the first limit rows
// converted, and the cursor of the next page when there is one.
func PageOf[T, U any](rows []T, limit int, name func(*T) string, conv func(*T) U) (page []U, next string) {
	page = make([]U, 0, min(len(rows), limit))
	for i := range rows {
		if i == limit {
			return page, Cursor(name(&rows[i-1]))
		}
		page = append(page, conv(&rows[i]))
	}
	return page, ""
}

// PlausibleName reports whether s could be a stored project, team or user
// name: 1-63 characters of a-z, 0-9 and '-'. Names that cannot exist are
// answered without a query (and bytes PostgreSQL refuses, like NUL, never
// reach it).
func PlausibleName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ProjectStore is what Project needs of server/store.
type ProjectStore interface {
	ProjectFor(ctx context.Context, id *identity.Identity, name string, a store.Access) (*store.Project, error)
}

// Project authorizes the caller for access a on the project named by the
// path variable vars: a project the caller may not see is "not found",
// exactly like a missing one; one being deleted is a 409.
func Project(r *http.Request, st ProjectStore, vars string, a store.Access) (*store.Project, *identity.Identity, error) {
	id, err := Caller(r)
	if err != nil {
		return nil, nil, err
	}
	name := mux.Vars(r)[vars]
	var p *store.Project
	if PlausibleName(name) {
		p, err = st.ProjectFor(r.Context(), id, name, a)
	} else {
		err = store.ErrNotFound
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, httpx.NewError(http.StatusNotFound, fmt.Sprintf("Project '%s' not found.", name),
			"Run 'rise project list' to see your projects.")
	case errors.Is(err, store.ErrDeleting):
		return nil, nil, httpx.Errorf(http.StatusConflict, "Project '%s' is being deleted.", name)
	case err != nil:
		return nil, nil, err
	}
	return p, id, nil
}
