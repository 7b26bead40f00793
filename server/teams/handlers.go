package teams

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/store"
)

// maxUsersPerRequest bounds the user lists of one create or update.
const maxUsersPerRequest = 200

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	id, err := web.UserCaller(r, "manage teams")
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if h.policy.AdminsOnlyCreate() && !id.Admin {
		httpx.Err(w, r, httpx.NewError(http.StatusForbidden, "Only admins can create teams on this server.",
			"Ask an admin to create the team, or use a team from your identity provider."))
		return
	}
	var req api.CreateTeamRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := validateName(req.Name); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := checkUserLists(req.Owners, req.Members); err != nil {
		httpx.Err(w, r, err)
		return
	}
	t, err := h.st.CreateTeam(r.Context(), id, req.Name, req.Owners, req.Members)
	if err != nil {
		httpx.Err(w, r, h.teamErr(r.Context(), id, req.Name, err))
		return
	}
	w.Header().Set("Location", "/api/v1/teams/"+t.Name)
	httpx.JSON(w, http.StatusCreated, toAPI(t))
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	id, err := web.UserCaller(r, "manage teams")
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	after, limit, err := web.Page(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var ts []store.Team
	if h.policy.ListAllTeams() {
		ts, err = h.st.ListEveryTeam(r.Context(), after, limit+1)
	} else {
		ts, err = h.st.ListTeams(r.Context(), id, after, limit+1)
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var out api.TeamList
	out.Teams, out.NextCursor = web.PageOf(ts, limit, func(t *store.Team) string { return t.Name }, toAPI)
	httpx.JSON(w, http.StatusOK, out)
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	id, err := web.UserCaller(r, "manage teams")
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	if !web.PlausibleName(name) {
		httpx.Err(w, r, h.teamErr(r.Context(), id, name, store.ErrNotFound))
		return
	}
	t, err := h.st.TeamFor(r.Context(), id, name)
	if err != nil {
		httpx.Err(w, r, h.teamErr(r.Context(), id, name, err))
		return
	}
	httpx.JSON(w, http.StatusOK, toAPI(t))
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	id, err := web.UserCaller(r, "manage teams")
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	if !web.PlausibleName(name) {
		httpx.Err(w, r, h.teamErr(r.Context(), id, name, store.ErrNotFound))
		return
	}
	var req api.UpdateTeamRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	ch := store.TeamChange{AddOwners: req.AddOwners, AddMembers: req.AddMembers,
		RemoveOwners: req.RemoveOwners, RemoveMembers: req.RemoveMembers}
	if req.Name != nil {
		if err := validateName(*req.Name); err != nil {
			httpx.Err(w, r, err)
			return
		}
		ch.Rename = *req.Name
	}
	if err := checkUserLists(req.AddOwners, req.AddMembers, req.RemoveOwners, req.RemoveMembers); err != nil {
		httpx.Err(w, r, err)
		return
	}
	t, err := h.st.UpdateTeam(r.Context(), id, name, ch)
	if errors.Is(err, store.ErrConflict) {
		err = httpx.Errorf(http.StatusConflict, "Team name '%s' is already taken.", ch.Rename)
	}
	if err != nil {
		httpx.Err(w, r, h.teamErr(r.Context(), id, name, err))
		return
	}
	httpx.JSON(w, http.StatusOK, toAPI(t))
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	id, err := web.UserCaller(r, "manage teams")
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	if !web.PlausibleName(name) {
		httpx.Err(w, r, h.teamErr(r.Context(), id, name, store.ErrNotFound))
		return
	}
	if err := h.st.DeleteTeam(r.Context(), id, name); err != nil {
		httpx.Err(w, r, h.teamErr(r.Context(), id, name, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	id, err := web.Caller(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	u := api.User{ID: id.UserID, Email: id.Email, Name: id.Name, Admin: id.Admin, Teams: []string{}, Groups: id.Groups}
	if id.IsServiceAccount() {
		u.ServiceAccount = id.ServiceAccount.Project
	} else if id.UserID != "" {
		if u.Teams, err = h.st.TeamsOf(r.Context(), id.UserID); err != nil {
			httpx.Err(w, r, err)
			return
		}
	}
	httpx.JSON(w, http.StatusOK, u)
}

// teamErr maps store errors about team name to API errors.
func (h *Handler) teamErr(ctx context.Context, id *identity.Identity, name string, err error) error {
	var unknown *store.UnknownUsersError
	switch {
	case errors.As(err, &unknown):
		return httpx.Errorf(http.StatusBadRequest, "Unknown user(s): %s. Users exist once they have logged in.", strings.Join(unknown.Refs, ", "))
	case errors.Is(err, store.ErrNotFound):
		var sugg []string
		if teams, lerr := h.st.UsableTeams(ctx, id); lerr == nil {
			sugg = names.Suggest(name, teams)
		}
		return httpx.NewError(http.StatusNotFound, fmt.Sprintf("Team '%s' not found.", name), sugg...)
	case errors.Is(err, store.ErrConflict):
		return httpx.Errorf(http.StatusConflict, "Team name '%s' is already taken.", name)
	case errors.Is(err, store.ErrForbidden):
		return httpx.Errorf(http.StatusForbidden, "Only owners of team '%s' or admins can change or delete it.", name)
	case errors.Is(err, store.ErrManagedTeam):
		return httpx.NewError(http.StatusConflict,
			fmt.Sprintf("Team '%s' is managed by the identity provider: its members follow the group of the same name and cannot be changed by hand.", name),
			"Change the group in the identity provider; admins may add and remove owners.")
	case errors.Is(err, store.ErrLastOwner):
		return httpx.Errorf(http.StatusConflict, "Team '%s' must keep at least one owner; add another owner first.", name)
	case errors.Is(err, store.ErrTeamOwnsProjects):
		msg := fmt.Sprintf("Team '%s' still owns projects; delete them or move them to another owner first.", name)
		if t, terr := h.st.TeamFor(ctx, id, name); terr == nil {
			if ps, perr := h.st.TeamProjects(ctx, t.ID, 6); perr == nil && len(ps) > 0 {
				list := strings.Join(ps[:min(len(ps), 5)], ", ")
				if len(ps) > 5 {
					list += ", ..."
				}
				msg = fmt.Sprintf("Team '%s' still owns projects (%s); delete them or move them to another owner first.", name, list)
			}
		}
		return httpx.NewError(http.StatusConflict, msg)
	}
	return err
}

func validateName(name string) error {
	if err := names.ValidateTeam(name); err != nil {
		var ne *names.Error
		if errors.As(err, &ne) && ne.Suggestion != "" {
			return httpx.NewError(http.StatusBadRequest, err.Error(), ne.Suggestion)
		}
		return httpx.NewError(http.StatusBadRequest, err.Error())
	}
	return nil
}

func checkUserLists(lists ...[]string) error {
	n := 0
	for _, l := range lists {
		n += len(l)
		for _, u := range l {
			if strings.TrimSpace(u) == "" || len(u) > 320 || strings.ContainsFunc(u, unicode.IsControl) {
				return httpx.NewError(http.StatusBadRequest, "users must be named by handle or email")
			}
		}
	}
	if n > maxUsersPerRequest {
		return httpx.Errorf(http.StatusBadRequest, "at most %d users per request", maxUsersPerRequest)
	}
	return nil
}
