package projects

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/store"
)

// App users may use a project's app through the edge and nothing else;
// managing them needs the right to change the project (owners, team
// members, admins).

func (h *Handler) addAppUser(w http.ResponseWriter, r *http.Request) {
	id, name, ok := h.appUsersCaller(w, r)
	if !ok {
		return
	}
	var req api.AddAppUserRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := validateSubject(req.Subject); err != nil {
		httpx.Err(w, r, err)
		return
	}
	a, err := h.st.AddAppUser(r.Context(), id, name, req.Subject)
	if err != nil {
		httpx.Err(w, r, h.appUserErr(r, id, name, req.Subject, "add app users to", err))
		return
	}
	w.Header().Set("Location", "/api/v1/projects/"+name+"/app-users/"+a.Subject)
	httpx.JSON(w, http.StatusCreated, api.AppUser{Subject: a.Subject, Email: a.Email, CreatedAt: a.CreatedAt})
}

func (h *Handler) listAppUsers(w http.ResponseWriter, r *http.Request) {
	id, name, ok := h.appUsersCaller(w, r)
	if !ok {
		return
	}
	list, err := h.st.ListAppUsers(r.Context(), id, name)
	if err != nil {
		httpx.Err(w, r, h.appUserErr(r, id, name, "", "list the app users of", err))
		return
	}
	out := api.AppUserList{AppUsers: make([]api.AppUser, len(list))}
	for i, a := range list {
		out.AppUsers[i] = api.AppUser{Subject: a.Subject, Email: a.Email, CreatedAt: a.CreatedAt}
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (h *Handler) removeAppUser(w http.ResponseWriter, r *http.Request) {
	id, name, ok := h.appUsersCaller(w, r)
	if !ok {
		return
	}
	subject := mux.Vars(r)["subject"]
	if err := validateSubject(subject); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := h.st.RemoveAppUser(r.Context(), id, name, subject); err != nil {
		httpx.Err(w, r, h.appUserErr(r, id, name, subject, "remove app users from", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// appUsersCaller is the caller and the project name of an app-users
// request; it answers the request itself when they are unusable.
func (h *Handler) appUsersCaller(w http.ResponseWriter, r *http.Request) (*identity.Identity, string, bool) {
	id, err := web.Caller(r)
	if err != nil {
		httpx.Err(w, r, err)
		return nil, "", false
	}
	name := mux.Vars(r)["name"]
	if !web.PlausibleName(name) {
		httpx.Err(w, r, h.projectErr(r.Context(), id, name, "", store.ErrNotFound))
		return nil, "", false
	}
	return id, name, true
}

func (h *Handler) appUserErr(r *http.Request, id *identity.Identity, name, subject, verb string, err error) error {
	var unknown *store.UnknownUsersError
	kind, ref, _ := strings.Cut(subject, ":")
	switch {
	case store.ErrNoGrant(err):
		return httpx.NewError(http.StatusNotFound, fmt.Sprintf("%s is not an app user of project '%s'.", subject, name),
			"List them with 'rise project app-user list "+name+"'.")
	case errors.Is(err, store.ErrConflict):
		return httpx.Errorf(http.StatusConflict, "%s is already an app user of project '%s'.", subject, name)
	case errors.As(err, &unknown):
		return httpx.Errorf(http.StatusBadRequest, "Unknown user '%s'. Users exist once they have logged in.", ref)
	case errors.Is(err, store.ErrUnknownTeam) && kind == "team":
		return httpx.Errorf(http.StatusNotFound, "Team '%s' not found.", ref)
	case errors.Is(err, store.ErrForbidden) && !id.IsServiceAccount():
		return httpx.Errorf(http.StatusForbidden, "You cannot %s project '%s': only its owners, its team's members or an admin can.", verb, name)
	}
	return h.projectErr(r.Context(), id, name, verb, err)
}

// validateSubject checks "user:<name or email>" or "team:<name>".
func validateSubject(s string) error {
	kind, ref, ok := strings.Cut(s, ":")
	bad := !ok || ref == "" || len(ref) > 320 || strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f })
	switch {
	case bad:
	case kind == "user":
		return nil
	case kind == "team" && names.ValidateTeam(ref) == nil:
		return nil
	}
	return httpx.Errorf(http.StatusBadRequest, `app user must be "user:<name or email>" or "team:<name>", not %q`, s)
}
