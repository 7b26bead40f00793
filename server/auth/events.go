package auth

import (
	"context"
	"net/http"

	"github.com/riseplatform/rise/server/httpx"
)

// Event kinds passed to Options.Events.
const (
	EventLoginSucceeded        = "login.succeeded"         // a user logged in (any method)
	EventLoginFailed           = "login.failed"            // a login attempt was refused
	EventTokenRevoked          = "token.revoked"           // logout, or an admin's revocation
	EventServiceAccountCreated = "service_account.created" // POST .../service-accounts
	EventServiceAccountDeleted = "service_account.deleted" // DELETE .../service-accounts/{id}
	EventServiceAccountUsed    = "service_account.used"    // a CI token authenticated as a service account
)

// Event is one security-relevant auth event, for an audit log. It never
// carries a token or password.
type Event struct {
	Kind      string
	Method    string // login method: "local", "oidc", "device", "browser"
	UserID    string // the user the event is about, when known
	User      string // handle or attempted email
	Actor     string // who did it: identity.Subject() ("user:<name>", "sa:<id>")
	Project   string // service-account events
	ServiceID string // service-account id
	All       bool   // token.revoked: every token of the user
	Reason    string // login.failed: the (log-only) reason
	Remote    string // client address (trusted proxies applied)
	RequestID string
}

// event hands e to Options.Events (nil-safe) with the request's address and id.
func (s *Service) event(r *http.Request, e Event) {
	if s.events == nil {
		return
	}
	e.Remote = s.clientIP(r)
	e.RequestID = httpx.RequestID(r)
	s.events(r.Context(), e)
}

// EventsFunc receives auth events; see Options.Events.
type EventsFunc func(ctx context.Context, e Event)
