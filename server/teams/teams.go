// Package teams serves the teams API and the caller's profile under /api/v1:
//
//	POST   /teams         create (the caller becomes an owner)
//	GET    /teams         list the caller's teams (admins: all)
//	GET    /teams/{name}  show (members and admins)
//	PATCH  /teams/{name}  rename, add/remove owners and members (team owners, admins)
//	DELETE /teams/{name}  delete (team owners, admins); refused while it owns projects
//
// Teams synced from an identity provider's groups (ManagedBy) refuse hand
// edits: admins may only add and remove owners. server.hcl teams { create
// = "admins" } keeps team creation to admins; list_all lists every team.
//
//	GET    /users/me      who am I
//
// A team the caller is not in answers like a missing one (404).
package teams

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/store"
)

// Handler serves the teams and users API.
type Handler struct {
	st     *store.Store
	policy *config.TeamsPolicy
}

// New returns the teams and users API handler; policy (server.hcl teams
// { ... }, may be nil) says who may create teams and who lists them all.
func New(st *store.Store, policy *config.TeamsPolicy) *Handler {
	return &Handler{st: st, policy: policy}
}

// Routes mounts the API on the /api/v1 router.
func (h *Handler) Routes(r *mux.Router) {
	r.HandleFunc("/teams", h.create).Methods(http.MethodPost)
	r.HandleFunc("/teams", h.list).Methods(http.MethodGet)
	r.HandleFunc("/teams/{name}", h.show).Methods(http.MethodGet)
	r.HandleFunc("/teams/{name}", h.update).Methods(http.MethodPatch)
	r.HandleFunc("/teams/{name}", h.delete).Methods(http.MethodDelete)
	r.HandleFunc("/users/me", h.me).Methods(http.MethodGet)
}

func toAPI(t *store.Team) api.Team {
	return api.Team{Name: t.Name, Owners: t.Owners, Members: t.Members, ManagedBy: t.ManagedBy, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}
