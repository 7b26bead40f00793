// Package teams serves the teams API and the caller's profile under /api/v1:
//
//	POST   /teams         create (the caller becomes an owner)
//	GET    /teams         list the caller's teams (admins: all)
//	GET    /teams/{name}  show (members and admins)
//	PATCH  /teams/{name}  rename, add/remove owners and members (team owners, admins)
//	DELETE /teams/{name}  delete (team owners, admins); refused while it owns projects
//	GET    /users/me      who am I
//
// A team the caller is not in answers like a missing one (404).
package teams

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/store"
)

// Handler serves the teams and users API.
type Handler struct {
	st *store.Store
}

// New returns the teams and users API handler.
func New(st *store.Store) *Handler { return &Handler{st: st} }

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
	return api.Team{Name: t.Name, Owners: t.Owners, Members: t.Members, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}
