// Package api holds rise's REST API types (JSON bodies under /api/v1) and the
// typed client the CLI uses. The server encodes exactly these types.
package api

import "time"

// Error is the one error shape of every non-2xx response.
type Error struct {
	Message     string   `json:"error"`
	Suggestions []string `json:"suggestions,omitempty"`
	// Status is the HTTP status; filled in by the client, not sent.
	Status int `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// Visibility values: "public" apps need no login, "private" ones do.
// Visibility is derived from the access class.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// Built-in access classes (a project's Access); servers may define more
// (server.hcl access { class "<name>" { ... } }).
const (
	AccessPublic        = "public"        // anyone
	AccessAuthenticated = "authenticated" // anyone who can log in to rise (the server may narrow it)
	AccessPrivate       = "private"       // owners, the owning team, app users and admins
)

// VisibilityOf is the visibility of an access class.
func VisibilityOf(access string) string {
	if access == AccessPublic {
		return VisibilityPublic
	}
	return VisibilityPrivate
}

// Project is an app that can be deployed at https://<name>.<domain>.
type Project struct {
	Name             string    `json:"name"`
	Status           string    `json:"status"` // running, stopped, deploying, failed, deleting
	URL              string    `json:"url"`
	Access           string    `json:"access"`     // access class: public, authenticated, private, or one of the server's
	Visibility       string    `json:"visibility"` // "public" or "private" (derived from Access)
	Owner            string    `json:"owner"`      // "user:<name>" or "team:<name>"
	ActiveDeployment string    `json:"active_deployment,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// CreateProjectRequest is the body of POST /api/v1/projects.
type CreateProjectRequest struct {
	Name       string `json:"name"`
	Access     string `json:"access,omitempty"`     // access class, default public
	Visibility string `json:"visibility,omitempty"` // the old name of Access ("public" or "private")
	Owner      string `json:"owner,omitempty"`      // default: the caller ("user:<name>")
}

// UpdateProjectRequest is the body of PATCH /api/v1/projects/{name}; nil
// fields are left alone.
type UpdateProjectRequest struct {
	Access     *string `json:"access,omitempty"`
	Visibility *string `json:"visibility,omitempty"` // the old name of Access
	Owner      *string `json:"owner,omitempty"`
}

// ProjectList is a page of projects. Pass NextCursor as ?cursor= for the next page.
type ProjectList struct {
	Projects   []Project `json:"projects"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// Team groups users; a team can own projects.
type Team struct {
	Name    string   `json:"name"`
	Owners  []string `json:"owners"`  // user names
	Members []string `json:"members"` // user names (owners not repeated)
	// ManagedBy is "oidc:<provider>" for a team that follows the identity
	// provider's group of the same name; its members are not edited by hand.
	ManagedBy string    `json:"managed_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateTeamRequest is the body of POST /api/v1/teams. The caller becomes an owner.
type CreateTeamRequest struct {
	Name    string   `json:"name"`
	Owners  []string `json:"owners,omitempty"`  // user names or emails
	Members []string `json:"members,omitempty"` // user names or emails
}

// UpdateTeamRequest is the body of PATCH /api/v1/teams/{name}.
type UpdateTeamRequest struct {
	Name          *string  `json:"name,omitempty"` // rename
	AddOwners     []string `json:"add_owners,omitempty"`
	AddMembers    []string `json:"add_members,omitempty"`
	RemoveOwners  []string `json:"remove_owners,omitempty"`
	RemoveMembers []string `json:"remove_members,omitempty"`
}

// TeamList is a page of teams.
type TeamList struct {
	Teams      []Team `json:"teams"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// User is GET /api/v1/users/me.
type User struct {
	ID             string   `json:"id,omitempty"`
	Email          string   `json:"email"`
	Name           string   `json:"name"`
	Admin          bool     `json:"admin"`
	Teams          []string `json:"teams"`
	Groups         []string `json:"groups,omitempty"`          // identity-provider groups at the last login (access classes match them)
	ServiceAccount string   `json:"service_account,omitempty"` // set for CI identities: the project it may deploy
}

// Health is GET /api/v1/health (liveness: {"status":"ok"} while the process
// serves) and GET /api/v1/ready (readiness: "ok" with database "ok", or 503
// with status "unavailable"/"draining").
type Health struct {
	Status   string `json:"status"`
	Database string `json:"database,omitempty"` // readiness only: "ok", "unreachable", "unknown"
}

// Version is GET /api/v1/version.
type Version struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Protocol int    `json:"plugin_protocol"`
}
