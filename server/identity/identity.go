// Package identity is the caller's identity as the auth middleware puts it in
// a request's context. Every handler reads it from here, never from headers.
package identity

import "context"

// Identity is who is calling: a user, or a service account acting for
// exactly one project.
type Identity struct {
	UserID string // users.id (UUID); empty for service accounts
	Email  string
	Name   string // unique handle shown as owner "user:<name>"
	Admin  bool
	// Groups are the user's identity-provider groups as of their last
	// login (access classes match them); nil for local users without groups.
	Groups []string

	// ServiceAccount is set when the caller is a CI token bound to a
	// project through a service account. Such a caller may deploy that
	// project and nothing else.
	ServiceAccount *ServiceAccount
}

// ServiceAccount is the project-scoped identity of a trusted CI token.
type ServiceAccount struct {
	ID        string // service_accounts.id
	ProjectID string // projects.id
	Project   string // project name
	Issuer    string
	Subject   string
	// Environments limits the account to these environments of its
	// project (empty: every environment that is not protected).
	Environments []string
}

// IsServiceAccount reports whether the caller is a project-scoped service account.
func (i *Identity) IsServiceAccount() bool { return i != nil && i.ServiceAccount != nil }

// Subject names the caller for logs and audit: "user:<name>" or "sa:<id>".
func (i *Identity) Subject() string {
	switch {
	case i == nil:
		return "anonymous"
	case i.ServiceAccount != nil:
		return "sa:" + i.ServiceAccount.ID
	default:
		return "user:" + i.Name
	}
}

type ctxKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the identity in ctx, or nil when the request is anonymous.
func From(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}
