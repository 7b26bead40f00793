package api

import (
	"context"
	"net/http"
)

// ServerVersion returns the server's version (GET /version).
func (c *Client) ServerVersion(ctx context.Context) (*Version, error) {
	var v Version
	if err := c.Do(ctx, http.MethodGet, "/version", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Health returns the server's liveness (GET /health).
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	if err := c.Do(ctx, http.MethodGet, "/health", nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Ready returns the server's readiness (GET /ready): an error (503) while
// its database is unreachable or it is shutting down.
func (c *Client) Ready(ctx context.Context) (*Health, error) {
	var h Health
	if err := c.Do(ctx, http.MethodGet, "/ready", nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}
