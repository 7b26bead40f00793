// Package auth authenticates callers of the rise server and puts exactly one
// *identity.Identity in every authenticated request's context.
//
// Contract with the server and other handlers:
//
//   - (*Service).Middleware wraps every route. A request without credentials
//     passes through anonymously (identity.From returns nil). A request that
//     presents credentials (Authorization: Bearer, or the rise_session cookie)
//     that do not verify is answered 401 right there, with a generic message
//     and a log line that says why; it never reaches a handler.
//   - Protected routes wrap their handler with (*Service).Require (401 for
//     anonymous callers) — or check identity.From themselves.
//   - A service-account identity (identity.ServiceAccount != nil) may act on
//     its one project only. Handlers enforce that with identity.ServiceAccount
//     .Project / ProjectID; (*Service).Require does not.
//
// Credentials accepted:
//
//   - rise tokens: JWTs the server signs itself (ES256 by default, RS256 with
//     a configured RSA key) with iss = the public URL and aud = "rise",
//     published at /.well-known/openid-configuration and /.well-known/jwks.json.
//     They are issued by local login, the OIDC code exchange, the device flow
//     and the browser session login.
//   - JWTs from configured trusted issuers (CI systems) validated against the
//     issuer's discovery document and JWKS with the configured audience; they
//     authenticate only when a project's service account matches their claims.
//
// Routes: Routes mounts /auth/* under /api/v1 plus the service-account API;
// WellKnown mounts discovery and JWKS on the root router; SessionRoutes mounts
// the browser login (/auth/login, /auth/callback, /auth/logout) on the root
// router for private apps.
package auth
