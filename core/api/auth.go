package api

import "time"

// Auth endpoints (all under /api/v1 and anonymous unless noted):
//
//	GET    /auth/config                          AuthConfig: which login methods the server offers
//	POST   /auth/login                           LoginRequest → TokenResponse (local users, development)
//	POST   /auth/authorize                       AuthorizeRequest → AuthorizeResponse (OIDC, PKCE S256)
//	POST   /auth/code/exchange                   CodeExchangeRequest → TokenResponse
//	POST   /auth/device/start                    DeviceStartRequest → DeviceStartResponse (RFC 8628)
//	POST   /auth/device/poll                     DevicePollRequest → DevicePollResponse
//	POST   /projects/{name}/service-accounts     CreateServiceAccountRequest → ServiceAccount (authenticated)
//	GET    /projects/{name}/service-accounts     ServiceAccountList (authenticated)
//	DELETE /projects/{name}/service-accounts/{id} (authenticated)
//	POST   /auth/logout                          LogoutRequest → 204: revoke the caller's token (authenticated)
//	DELETE /users/{user}/tokens                  → 204: revoke every token of a user (admin, or the user)

// AuthConfig is GET /api/v1/auth/config: what `rise login` can use.
type AuthConfig struct {
	Local bool `json:"local"` // POST /auth/login with email+password is enabled
	// Providers are the OIDC providers (by config name); the first is the default.
	Providers []AuthProvider `json:"providers"`
	// Issuer is the rise token issuer (the server's public URL).
	Issuer string `json:"issuer"`
}

// AuthProvider describes one OIDC provider.
type AuthProvider struct {
	Name   string `json:"name"`
	Issuer string `json:"issuer"`
	Device bool   `json:"device"` // the provider supports the device authorization grant
}

// LoginRequest is POST /api/v1/auth/login (local users; development only).
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// LogoutRequest is POST /api/v1/auth/logout: revoke the token it is sent
// with, or with All every token and browser session of the caller.
type LogoutRequest struct {
	All bool `json:"all,omitempty"`
}

// TokenResponse carries a rise access token: send it as "Authorization: Bearer <token>".
type TokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// PKCE code challenge method; the only one the server accepts.
const PKCEMethodS256 = "S256"

// AuthorizeRequest is POST /api/v1/auth/authorize. RedirectURI must be
// http://localhost:{8765,8766,8767}/callback or the same on 127.0.0.1.
// CodeChallenge is BASE64URL(SHA256(verifier)) without padding.
type AuthorizeRequest struct {
	RedirectURI         string `json:"redirect_uri"`
	CodeChallenge       string `json:"code_challenge"`
	CodeChallengeMethod string `json:"code_challenge_method"` // "S256"
	Provider            string `json:"provider,omitempty"`    // OIDC provider name; default: the first configured
}

// AuthorizeResponse tells the CLI where to send the browser. The IdP redirects
// back to the redirect URI with ?code=...&state=...
type AuthorizeResponse struct {
	AuthorizationURL string    `json:"authorization_url"`
	State            string    `json:"state"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// CodeExchangeRequest is POST /api/v1/auth/code/exchange. State is the value
// returned by authorize (and echoed by the IdP); when omitted the pending
// login is found by the verifier's challenge.
type CodeExchangeRequest struct {
	Code         string `json:"code"`
	CodeVerifier string `json:"code_verifier"`
	RedirectURI  string `json:"redirect_uri"`
	State        string `json:"state,omitempty"`
}

// DeviceStartRequest is POST /api/v1/auth/device/start.
type DeviceStartRequest struct {
	Provider string `json:"provider,omitempty"`
}

// DeviceStartResponse is what the CLI shows the user ("open URL, enter code")
// before polling with DeviceCode every Interval seconds.
type DeviceStartResponse struct {
	DeviceCode              string    `json:"device_code"`
	UserCode                string    `json:"user_code"`
	VerificationURI         string    `json:"verification_uri"`
	VerificationURIComplete string    `json:"verification_uri_complete,omitempty"`
	Interval                int       `json:"interval"` // seconds between polls
	ExpiresAt               time.Time `json:"expires_at"`
}

// DevicePollRequest is POST /api/v1/auth/device/poll.
type DevicePollRequest struct {
	DeviceCode string `json:"device_code"`
	// Provider is ignored: the server remembers which provider started the
	// device login. Kept for compatibility.
	Provider string `json:"provider,omitempty"`
}

// Device poll statuses.
const (
	DevicePending  = "pending"   // the user has not finished yet: poll again after Interval
	DeviceSlowDown = "slow_down" // poll again after a longer Interval
	DeviceComplete = "complete"  // Token is set
)

// DevicePollResponse is the answer to one poll. A denied or expired device
// code is an error response (4xx), not a status.
type DevicePollResponse struct {
	Status   string         `json:"status"`
	Interval int            `json:"interval,omitempty"`
	Token    *TokenResponse `json:"token,omitempty"`
}

// ServiceAccount lets CI systems deploy one project with their own OIDC
// tokens (GitHub Actions, GitLab CI): a JWT from Issuer whose claims match
// every entry of Claims acts for Project. Claim values are exact strings or
// globs (path.Match syntax: '*' does not cross '/').
type ServiceAccount struct {
	ID      string            `json:"id"`
	Project string            `json:"project"`
	Issuer  string            `json:"issuer"`
	Claims  map[string]string `json:"claims"`
	// Environments limits the account to these environments of Project
	// (empty: every environment that is not protected).
	Environments []string  `json:"environments,omitempty"`
	CreatedBy    string    `json:"created_by,omitempty"` // user name
	CreatedAt    time.Time `json:"created_at"`
}

// CreateServiceAccountRequest is POST /api/v1/projects/{name}/service-accounts.
// Issuer is a trusted_issuer's URL or its config name; Claims needs at least one entry.
type CreateServiceAccountRequest struct {
	Issuer       string            `json:"issuer"`
	Claims       map[string]string `json:"claims"`
	Environments []string          `json:"environments,omitempty"`
}

// ServiceAccountList is GET /api/v1/projects/{name}/service-accounts.
type ServiceAccountList struct {
	ServiceAccounts []ServiceAccount `json:"service_accounts"`
}
