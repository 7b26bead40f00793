// Package projects serves the projects API under /api/v1:
//
//	POST   /projects         create (owner defaults to the caller)
//	GET    /projects         list the caller's projects (keyset pagination)
//	GET    /projects/{name}  show
//	PATCH  /projects/{name}  change the access class or owner
//	POST   /projects/{name}/app-users            let a user or team use the app
//	GET    /projects/{name}/app-users            list them
//	DELETE /projects/{name}/app-users/{subject}  withdraw (subject "user:<name>" or "team:<name>")
//	DELETE /projects/{name}  start deletion: status "deleting", 202; the
//	                         project controller cleans up and removes it
//
// Authorization is store.ProjectFor's rule; a project the caller may not see
// answers exactly like a missing one (404, suggestions only from the
// caller's own projects).
package projects

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/store"
)

// Options shape project URLs (<Scheme>://<name>.<Domain>) and name the
// server's access classes.
type Options struct {
	Domain string // e.g. "rise.dev"
	Scheme string // "https" or "http"
	// Classes are the access classes projects may use (config
	// Access.ClassNames); nil: the built-in public, authenticated, private.
	Classes []string
}

// Handler serves the projects API.
type Handler struct {
	st   *store.Store
	opts Options
}

// New returns the projects API handler.
func New(st *store.Store, opts Options) *Handler {
	if opts.Scheme == "" {
		opts.Scheme = "https"
	}
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	return &Handler{st: st, opts: opts}
}

// Routes mounts the projects API on the /api/v1 router.
func (h *Handler) Routes(r *mux.Router) {
	r.HandleFunc("/projects", h.create).Methods(http.MethodPost)
	r.HandleFunc("/projects", h.list).Methods(http.MethodGet)
	r.HandleFunc("/projects/{name}", h.show).Methods(http.MethodGet)
	r.HandleFunc("/projects/{name}", h.update).Methods(http.MethodPatch)
	r.HandleFunc("/projects/{name}", h.delete).Methods(http.MethodDelete)
	r.HandleFunc("/projects/{name}/app-users", h.addAppUser).Methods(http.MethodPost)
	r.HandleFunc("/projects/{name}/app-users", h.listAppUsers).Methods(http.MethodGet)
	r.HandleFunc("/projects/{name}/app-users/{subject}", h.removeAppUser).Methods(http.MethodDelete)
}

// URL is where project name's app is served.
func (o Options) URL(name string) string { return o.Scheme + "://" + name + "." + o.Domain }

// projectURL is the project's verified primary custom domain, else its
// app host.
func (o Options) projectURL(p *store.Project) string {
	if p.PrimaryDomain != "" {
		return o.Scheme + "://" + p.PrimaryDomain
	}
	return o.URL(p.Name)
}

// ToAPI converts a stored project to its API form.
func (o Options) ToAPI(p *store.Project) api.Project {
	return api.Project{
		Name:             p.Name,
		Status:           p.Status,
		URL:              o.projectURL(p),
		Access:           p.AccessClass,
		Visibility:       p.Visibility,
		Owner:            p.Owner,
		CreatedAt:        p.CreatedAt,
		ActiveDeployment: p.ActiveDeployment,
		UpdatedAt:        p.UpdatedAt,
	}
}
