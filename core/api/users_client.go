package api

import (
	"context"
	"net/http"
)

// Me returns the caller's identity (GET /users/me).
func (c *Client) Me(ctx context.Context) (*User, error) {
	var u User
	if err := c.Do(ctx, http.MethodGet, "/users/me", nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
