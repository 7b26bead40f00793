package api

import (
	"context"
	"net/http"
)

// AuthConfig returns the login methods the server offers.
func (c *Client) AuthConfig(ctx context.Context) (*AuthConfig, error) {
	var out AuthConfig
	return &out, c.Do(ctx, http.MethodGet, "/auth/config", nil, &out)
}

// Login logs in a local (development) user with email and password.
func (c *Client) Login(ctx context.Context, req LoginRequest) (*TokenResponse, error) {
	var out TokenResponse
	return &out, c.Do(ctx, http.MethodPost, "/auth/login", req, &out)
}

// Authorize starts an OIDC authorization-code + PKCE login.
func (c *Client) Authorize(ctx context.Context, req AuthorizeRequest) (*AuthorizeResponse, error) {
	var out AuthorizeResponse
	return &out, c.Do(ctx, http.MethodPost, "/auth/authorize", req, &out)
}

// ExchangeCode trades the IdP's authorization code for a rise token.
func (c *Client) ExchangeCode(ctx context.Context, req CodeExchangeRequest) (*TokenResponse, error) {
	var out TokenResponse
	return &out, c.Do(ctx, http.MethodPost, "/auth/code/exchange", req, &out)
}

// DeviceStart starts a device authorization (RFC 8628) login.
func (c *Client) DeviceStart(ctx context.Context, req DeviceStartRequest) (*DeviceStartResponse, error) {
	var out DeviceStartResponse
	return &out, c.Do(ctx, http.MethodPost, "/auth/device/start", req, &out)
}

// DevicePoll polls a device login once.
func (c *Client) DevicePoll(ctx context.Context, req DevicePollRequest) (*DevicePollResponse, error) {
	var out DevicePollResponse
	return &out, c.Do(ctx, http.MethodPost, "/auth/device/poll", req, &out)
}

// CreateServiceAccount binds a trusted issuer + claims to a project.
func (c *Client) CreateServiceAccount(ctx context.Context, project string, req CreateServiceAccountRequest) (*ServiceAccount, error) {
	var out ServiceAccount
	return &out, c.Do(ctx, http.MethodPost, "/projects/"+PathEscape(project)+"/service-accounts", req, &out)
}

// ListServiceAccounts lists a project's service accounts.
func (c *Client) ListServiceAccounts(ctx context.Context, project string) (*ServiceAccountList, error) {
	var out ServiceAccountList
	return &out, c.Do(ctx, http.MethodGet, "/projects/"+PathEscape(project)+"/service-accounts", nil, &out)
}

// DeleteServiceAccount deletes one service account of a project.
func (c *Client) DeleteServiceAccount(ctx context.Context, project, id string) error {
	return c.Do(ctx, http.MethodDelete, "/projects/"+PathEscape(project)+"/service-accounts/"+PathEscape(id), nil, nil)
}

// Logout revokes the client's token on the server (with all: every token
// and browser session of the caller).
func (c *Client) Logout(ctx context.Context, all bool) error {
	return c.Do(ctx, http.MethodPost, "/auth/logout", LogoutRequest{All: all}, nil)
}

// RevokeUserTokens revokes every token and browser session of user (a
// handle, email or id): admins for anyone, users for themselves.
func (c *Client) RevokeUserTokens(ctx context.Context, user string) error {
	return c.Do(ctx, http.MethodDelete, "/users/"+PathEscape(user)+"/tokens", nil, nil)
}
