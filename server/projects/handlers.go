package projects

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/store"
)

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	id, err := web.UserCaller(r, "create projects")
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.CreateProjectRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := validateName(req.Name); err != nil {
		httpx.Err(w, r, err)
		return
	}
	class, err := h.accessClass(req.Access, req.Visibility)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := validateOwner(req.Owner); err != nil {
		httpx.Err(w, r, err)
		return
	}
	p, err := h.st.CreateProject(r.Context(), id, store.NewProject{Name: req.Name, AccessClass: class, Owner: req.Owner})
	switch {
	case errors.Is(err, store.ErrConflict):
		err = httpx.Errorf(http.StatusConflict, "Project name '%s' is already taken; choose another name.", req.Name)
	case errors.Is(err, store.ErrOwnerDenied):
		err = h.ownerDenied(r.Context(), id, req.Owner)
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/projects/"+p.Name)
	httpx.JSON(w, http.StatusCreated, h.opts.ToAPI(p))
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	id, err := web.Caller(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	after, limit, err := web.Page(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	ps, err := h.st.ListProjects(r.Context(), id, after, limit+1)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var out api.ProjectList
	out.Projects, out.NextCursor = web.PageOf(ps, limit, func(p *store.Project) string { return p.Name }, h.opts.ToAPI)
	httpx.JSON(w, http.StatusOK, out)
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	id, err := web.Caller(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	if !web.PlausibleName(name) {
		httpx.Err(w, r, h.projectErr(r.Context(), id, name, "", store.ErrNotFound))
		return
	}
	p, err := h.st.ProjectFor(r.Context(), id, name, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, h.projectErr(r.Context(), id, name, "", err))
		return
	}
	httpx.JSON(w, http.StatusOK, h.opts.ToAPI(p))
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	id, err := web.Caller(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	if !web.PlausibleName(name) {
		httpx.Err(w, r, h.projectErr(r.Context(), id, name, "", store.ErrNotFound))
		return
	}
	var req api.UpdateProjectRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	var class *string
	if req.Access != nil || req.Visibility != nil {
		a, v := deref(req.Access), deref(req.Visibility)
		if a == "" && v == "" {
			httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "access must be one of %s", strings.Join(h.classes(), ", ")))
			return
		}
		c, err := h.accessClass(a, v)
		if err != nil {
			httpx.Err(w, r, err)
			return
		}
		class = &c
	}
	if req.Owner != nil {
		if err := validateOwner(*req.Owner); err != nil || *req.Owner == "" {
			httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, `owner must be "user:<name>" or "team:<name>"`))
			return
		}
	}
	p, err := h.st.UpdateProject(r.Context(), id, name, store.ProjectChange{AccessClass: class, Owner: req.Owner})
	if errors.Is(err, store.ErrOwnerDenied) {
		err = h.ownerDenied(r.Context(), id, *req.Owner)
	} else if err != nil {
		verb := "change"
		if req.Owner != nil {
			verb = "change the owner of"
		}
		err = h.projectErr(r.Context(), id, name, verb, err)
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, h.opts.ToAPI(p))
}

// delete marks the project "deleting" and answers 202 Accepted with it; the
// project controller removes its deployments and registry data, then the row.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	id, err := web.Caller(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	if !web.PlausibleName(name) {
		httpx.Err(w, r, h.projectErr(r.Context(), id, name, "", store.ErrNotFound))
		return
	}
	p, err := h.st.MarkProjectDeleting(r.Context(), id, name)
	if err != nil {
		httpx.Err(w, r, h.projectErr(r.Context(), id, name, "delete", err))
		return
	}
	httpx.JSON(w, http.StatusAccepted, h.opts.ToAPI(p))
}

// projectErr maps store errors about project name to API errors.
func (h *Handler) projectErr(ctx context.Context, id *identity.Identity, name, verb string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpx.NewError(http.StatusNotFound, fmt.Sprintf("Project '%s' not found.", name), h.similarProjects(ctx, id, name)...)
	case errors.Is(err, store.ErrForbidden) && id.IsServiceAccount():
		return httpx.Errorf(http.StatusForbidden, "Service accounts cannot %s project '%s'; they may only deploy it.", verb, name)
	case errors.Is(err, store.ErrForbidden):
		return httpx.Errorf(http.StatusForbidden, "You cannot %s project '%s': only its owner (a team's owners for a team project) or an admin can.", verb, name)
	case errors.Is(err, store.ErrDeleting):
		return httpx.Errorf(http.StatusConflict, "Project '%s' is being deleted.", name)
	}
	return err
}

// similarProjects suggests names from the caller's own projects only, so a
// 404 never reveals other people's projects.
func (h *Handler) similarProjects(ctx context.Context, id *identity.Identity, name string) []string {
	ps, err := h.st.ListProjects(ctx, id, "", web.MaxLimit)
	if err != nil {
		return nil
	}
	cands := make([]string, len(ps))
	for i := range ps {
		cands[i] = ps[i].Name
	}
	return names.Suggest(name, cands)
}

// ownerDenied is the seed's "Team 'devopsy' does not exist or you do not
// have permission to create projects for it." with suggestions from the
// teams the caller can use.
func (h *Handler) ownerDenied(ctx context.Context, id *identity.Identity, owner string) error {
	kind, name, _ := strings.Cut(owner, ":")
	if kind == "team" {
		teams, err := h.st.UsableTeams(ctx, id)
		if err != nil {
			return err
		}
		return httpx.NewError(http.StatusNotFound,
			fmt.Sprintf("Team '%s' does not exist or you do not have permission to create projects for it.", name),
			names.Suggest(name, teams)...)
	}
	var sugg []string
	if id.Name != "" && names.Suggest(name, []string{id.Name}) != nil {
		sugg = []string{"user:" + id.Name}
	}
	return httpx.NewError(http.StatusNotFound,
		fmt.Sprintf("User '%s' does not exist or you do not have permission to create projects for them.", name), sugg...)
}

func validateName(name string) error {
	if err := names.ValidateProject(name); err != nil {
		var ne *names.Error
		if errors.As(err, &ne) && ne.Suggestion != "" {
			return httpx.NewError(http.StatusBadRequest, err.Error(), ne.Suggestion)
		}
		return httpx.NewError(http.StatusBadRequest, err.Error())
	}
	return nil
}

// accessClass validates a request's access class and its old name,
// visibility ("public" or "private"); "" means the default (public).
func (h *Handler) accessClass(access, visibility string) (string, error) {
	switch visibility {
	case "", api.VisibilityPublic, api.VisibilityPrivate:
	default:
		return "", httpx.Errorf(http.StatusBadRequest, `visibility must be "public" or "private", not %q`, visibility)
	}
	switch {
	case access == "":
		return visibility, nil
	case visibility != "" && visibility != access:
		return "", httpx.Errorf(http.StatusBadRequest, "access %q and visibility %q disagree; send only access", access, visibility)
	case !slices.Contains(h.classes(), access):
		return "", httpx.NewError(http.StatusBadRequest,
			fmt.Sprintf("access %q is not an access class of this server; classes: %s", access, strings.Join(h.classes(), ", ")),
			names.Suggest(access, h.classes())...)
	}
	return access, nil
}

// classes are the server's access classes.
func (h *Handler) classes() []string {
	if len(h.opts.Classes) == 0 {
		return []string{api.AccessPublic, api.AccessAuthenticated, api.AccessPrivate}
	}
	return h.opts.Classes
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func validateOwner(o string) error {
	if o == "" {
		return nil
	}
	kind, name, ok := strings.Cut(o, ":")
	if !ok || (kind != "user" && kind != "team") || name == "" || len(name) > names.MaxLength || strings.ContainsRune(name, 0) {
		return httpx.Errorf(http.StatusBadRequest, `owner must be "user:<name>" or "team:<name>", not %q`, o)
	}
	return nil
}
