package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
)

// Every action is the API call the CLI makes for it, through u.client(r):
// the same handler, authorization, validation and audit event.

func asAPIError(err error, out **api.Error) bool { return errors.As(err, out) }

func projectURL(name string) string { return "/projects/" + url.PathEscape(name) }

func deploymentURL(project, id string) string {
	return projectURL(project) + "/deployments/" + url.PathEscape(id)
}

// createProject is POST /projects (name, visibility, owner).
func (u *UI) createProject(w http.ResponseWriter, r *http.Request, s *session) {
	req := api.CreateProjectRequest{
		Name:       strings.TrimSpace(r.PostForm.Get("name")),
		Visibility: r.PostForm.Get("visibility"),
		Owner:      r.PostForm.Get("owner"),
	}
	p, err := u.client(r).CreateProject(r.Context(), req)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, projectURL(p.Name), http.StatusSeeOther)
}

// deployImage is POST /projects/{p}/deployments (image, group): a
// deployment of an existing image, like `rise deploy --image`.
func (u *UI) deployImage(w http.ResponseWriter, r *http.Request, s *session) {
	project := mux.Vars(r)["project"]
	req := &api.CreateDeploymentRequest{Image: strings.TrimSpace(r.PostForm.Get("image")), Group: strings.TrimSpace(r.PostForm.Get("group"))}
	if req.Image == "" {
		u.renderError(w, r, s, http.StatusBadRequest, "Enter the image to deploy, e.g. registry.example.com/app:1.2.")
		return
	}
	d, err := u.client(r).CreateDeployment(r.Context(), project, req)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, deploymentURL(project, d.ID), http.StatusSeeOther)
}

// rollback is POST /projects/{p}/deployments/{id}/rollback: a new
// deployment from this one's image.
func (u *UI) rollback(w http.ResponseWriter, r *http.Request, s *session) {
	v := mux.Vars(r)
	d, err := u.client(r).RollbackDeployment(r.Context(), v["project"], v["id"])
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, deploymentURL(v["project"], d.ID), http.StatusSeeOther)
}

// stop is POST /projects/{p}/deployments/{id}/stop.
func (u *UI) stop(w http.ResponseWriter, r *http.Request, s *session) {
	v := mux.Vars(r)
	d, err := u.client(r).StopDeployment(r.Context(), v["project"], v["id"])
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, deploymentURL(v["project"], d.ID), http.StatusSeeOther)
}

// deleteProject is POST /projects/{p}/delete: confirm must repeat the
// project's name.
func (u *UI) deleteProject(w http.ResponseWriter, r *http.Request, s *session) {
	project := mux.Vars(r)["project"]
	c := u.client(r)
	// Read first: another team's project is "not found", whatever was typed.
	if _, err := c.GetProject(r.Context(), project); err != nil {
		u.fail(w, r, s, err)
		return
	}
	if r.PostForm.Get("confirm") != project {
		u.renderError(w, r, s, http.StatusBadRequest, "Type the project's name, "+project+", to confirm its deletion.")
		return
	}
	if err := c.DeleteProject(r.Context(), project); err != nil {
		u.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/projects", http.StatusSeeOther)
}

// teamMembers is POST /teams/{t}/members (user, change: add-member,
// add-owner, remove-member, remove-owner).
func (u *UI) teamMembers(w http.ResponseWriter, r *http.Request, s *session) {
	team := mux.Vars(r)["team"]
	user := strings.TrimSpace(r.PostForm.Get("user"))
	if user == "" {
		u.renderError(w, r, s, http.StatusBadRequest, "Enter a user name or email.")
		return
	}
	var req api.UpdateTeamRequest
	switch r.PostForm.Get("change") {
	case "add-member":
		req.AddMembers = []string{user}
	case "add-owner":
		req.AddOwners = []string{user}
	case "remove-member":
		req.RemoveMembers = []string{user}
	case "remove-owner":
		req.RemoveOwners = []string{user}
	default:
		u.renderError(w, r, s, http.StatusBadRequest, "Choose a change: add or remove a member or an owner.")
		return
	}
	t, err := u.client(r).UpdateTeam(r.Context(), team, req)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/teams/"+url.PathEscape(t.Name), http.StatusSeeOther)
}

// revokeAll is POST /me/revoke: every token and session of the user ends
// (like `rise logout --all`), this browser's included.
func (u *UI) revokeAll(w http.ResponseWriter, r *http.Request, s *session) {
	if err := u.client(r).RevokeUserTokens(r.Context(), s.ID.Name); err != nil {
		u.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, u.o.LoginPath, http.StatusSeeOther)
}
