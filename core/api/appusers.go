package api

import (
	"context"
	"net/http"
	"time"
)

// AppUser may use a project's running app (the edge lets them in) without
// any right on the project itself.
type AppUser struct {
	Subject   string    `json:"subject"`         // "user:<name>" or "team:<name>"
	Email     string    `json:"email,omitempty"` // users only
	CreatedAt time.Time `json:"created_at"`
}

// AddAppUserRequest is the body of POST /api/v1/projects/{name}/app-users.
type AddAppUserRequest struct {
	Subject string `json:"subject"` // "user:<name or email>" or "team:<name>"
}

// AppUserList is GET /api/v1/projects/{name}/app-users.
type AppUserList struct {
	AppUsers []AppUser `json:"app_users"`
}

// AddAppUser grants subject use of project's app (POST /projects/{name}/app-users).
func (c *Client) AddAppUser(ctx context.Context, project, subject string) (*AppUser, error) {
	var a AppUser
	if err := c.Do(ctx, http.MethodPost, "/projects/"+PathEscape(project)+"/app-users", AddAppUserRequest{Subject: subject}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ListAppUsers lists project's app users (GET /projects/{name}/app-users).
func (c *Client) ListAppUsers(ctx context.Context, project string) ([]AppUser, error) {
	var l AppUserList
	if err := c.Do(ctx, http.MethodGet, "/projects/"+PathEscape(project)+"/app-users", nil, &l); err != nil {
		return nil, err
	}
	return l.AppUsers, nil
}

// RemoveAppUser withdraws subject's grant (DELETE /projects/{name}/app-users/{subject}).
func (c *Client) RemoveAppUser(ctx context.Context, project, subject string) error {
	return c.Do(ctx, http.MethodDelete, "/projects/"+PathEscape(project)+"/app-users/"+PathEscape(subject), nil, nil)
}
