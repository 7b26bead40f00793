package ui

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/internal/web"
)

// Filter is the projects page's filter (query ?q=&visibility=&status=&owner=).
type Filter struct {
	Q, Visibility, Status, Owner string
}

func (f Filter) match(p *api.Project) bool {
	return (f.Q == "" || strings.Contains(p.Name, strings.ToLower(f.Q))) &&
		(f.Visibility == "" || p.Visibility == f.Visibility) &&
		(f.Status == "" || p.Status == f.Status) &&
		(f.Owner == "" || p.Owner == f.Owner || strings.TrimPrefix(strings.TrimPrefix(p.Owner, "user:"), "team:") == f.Owner)
}

type projectsPage struct {
	Filter   Filter
	Projects []api.Project // this page's
	Total    int           // the caller's projects
	Matched  int           // those the filter keeps
	Statuses []string
	// Page of Pages (1-based) of the matches, ProjectsPerPage each;
	// PrevURL/NextURL keep the filter ("" at either end).
	Page, Pages      int
	PrevURL, NextURL string
}

// ProjectsPerPage bounds the projects page: a page of 1,000 rows takes the
// browser longer to lay out than the server takes to list them.
const ProjectsPerPage = 100

// projectStatuses are the values of api.Project.Status, for the filter.
var projectStatuses = []string{"running", "deploying", "stopped", "failed", "deleting"}

func (u *UI) projects(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := Filter{Q: strings.TrimSpace(q.Get("q")), Visibility: q.Get("visibility"), Status: q.Get("status"), Owner: strings.TrimSpace(q.Get("owner"))}
	all, err := allProjects(r.Context(), u.client(r))
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	data := projectsPage{Filter: f, Total: len(all), Statuses: projectStatuses}
	var matched []api.Project
	for i := range all {
		if f.match(&all[i]) {
			matched = append(matched, all[i])
		}
	}
	data.Matched = len(matched)
	data.Pages = max(1, (len(matched)+ProjectsPerPage-1)/ProjectsPerPage)
	data.Page, _ = strconv.Atoi(q.Get("page"))
	data.Page = min(max(data.Page, 1), data.Pages)
	start := (data.Page - 1) * ProjectsPerPage
	data.Projects = matched[start:min(start+ProjectsPerPage, len(matched))]
	pageURL := func(n int) string {
		v := maps.Clone(q)
		v.Set("page", strconv.Itoa(n))
		return "/projects?" + v.Encode()
	}
	if data.Page > 1 {
		data.PrevURL = pageURL(data.Page - 1)
	}
	if data.Page < data.Pages {
		data.NextURL = pageURL(data.Page + 1)
	}
	u.render(w, r, s, http.StatusOK, "projects", view{Title: "Projects", Nav: "projects", Data: data})
}

// allProjects lists the caller's projects (GET /api/v1/projects) in the
// largest pages the API serves.
func allProjects(ctx context.Context, c *api.Client) ([]api.Project, error) {
	var all []api.Project
	for cursor := ""; ; {
		path := "/projects?limit=" + strconv.Itoa(web.MaxLimit)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var l api.ProjectList
		if err := c.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
			return nil, err
		}
		all = append(all, l.Projects...)
		if l.NextCursor == "" || l.NextCursor == cursor {
			return all, nil
		}
		cursor = l.NextCursor
	}
}

type newProjectPage struct {
	Teams []string
	Me    string
}

func (u *UI) newProject(w http.ResponseWriter, r *http.Request, s *session) {
	me, err := u.client(r).Me(r.Context())
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	u.render(w, r, s, http.StatusOK, "new_project", view{Title: "New project", Nav: "projects", Data: newProjectPage{Teams: me.Teams, Me: me.Name}})
}

// projectPage is the project page: the project and its sections.
type projectPage struct {
	Project  api.Project
	Sections []renderedSection
}

// builtinData is what the built-in sections' templates get.
type builtinData struct {
	Project     api.Project
	CSRF        string
	Data        any
	Deployments []api.Deployment
}

func (u *UI) project(w http.ResponseWriter, r *http.Request, s *session) {
	name := mux.Vars(r)["project"]
	c := u.client(r)
	ctx := r.Context()
	p, err := c.GetProject(ctx, name)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	ds, err := c.ListDeployments(ctx, name, "", 20, "")
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	envs, err := c.ListEnvironments(ctx, name)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	groups, err := c.ListDeploymentGroups(ctx, name)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	data := projectPage{Project: *p}
	add := func(id, title string, d any) bool {
		rs, err := u.pages.section(id, title, builtinData{Project: *p, CSRF: s.CSRF, Data: d, Deployments: ds.Deployments})
		if err != nil {
			u.fail(w, r, s, err)
			return false
		}
		data.Sections = append(data.Sections, rs)
		return true
	}
	if !add("environments", "Environments", envs.Environments) || !add("groups", "Deployment groups", groups.Groups) || !add("deployments", "Deployments", ds) || !add("deploy", "Deploy an image", nil) {
		return
	}
	if sas, err := c.ListServiceAccounts(ctx, name); err == nil {
		if !add("service-accounts", "Service accounts", sas.ServiceAccounts) {
			return
		}
	} else if st := apiStatus(err); st != http.StatusForbidden && st != http.StatusNotFound {
		u.fail(w, r, s, err)
		return
	}
	for _, sec := range u.pages.order {
		d, err := sec.Load(ctx, c, p)
		if st := apiStatus(err); err != nil && (st == http.StatusForbidden || st == http.StatusNotFound) {
			continue
		} else if err != nil {
			u.fail(w, r, s, err)
			return
		}
		if d == nil {
			continue
		}
		if !add(sec.ID, sec.Title, d) {
			return
		}
	}
	if !add("danger", "Delete project", nil) {
		return
	}
	u.render(w, r, s, http.StatusOK, "project", view{Title: p.Name, Nav: "projects", Data: data,
		Events: "/api/v1/projects/" + url.PathEscape(p.Name) + "/events"})
}

type deploymentPage struct {
	Project    string
	D          *api.Deployment
	Timeline   []api.DeploymentEvent
	Logs       []api.LogLine
	LogsNote   string // why there are no logs
	LogsTotal  int
	Search     string
	CanStop    bool
	CanRevert  bool
	LastEvent  int64
	LastLogAt  int64
	LogLimited bool
}

// logTail is how many log lines the deployment page shows (and searches)
// without JavaScript.
const logTail = 500

func (u *UI) deployment(w http.ResponseWriter, r *http.Request, s *session) {
	vars := mux.Vars(r)
	project, id := vars["project"], vars["id"]
	c := u.client(r)
	ctx := r.Context()
	d, err := c.GetDeployment(ctx, project, id)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	tl, err := c.DeploymentTimeline(ctx, project, id)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	data := deploymentPage{Project: project, D: d, Timeline: tl.Events, Search: r.URL.Query().Get("q"),
		CanStop: !d.Terminal(), CanRevert: !d.Active && d.ImageDigest != ""}
	if n := len(tl.Events); n > 0 {
		data.LastEvent = tl.Events[n-1].Seq
	}
	err = c.DeploymentLogs(ctx, project, id, api.LogOptions{Tail: logTail}, func(l api.LogLine) error {
		data.LogsTotal++
		data.LastLogAt = l.Time.UnixNano()
		if data.Search == "" || strings.Contains(strings.ToLower(l.Text), strings.ToLower(data.Search)) {
			data.Logs = append(data.Logs, l)
		}
		return nil
	})
	switch st := apiStatus(err); {
	case err == nil:
		data.LogLimited = data.LogsTotal >= logTail
	case st == http.StatusConflict || st == http.StatusGone || st == http.StatusNotImplemented:
		var ae *api.Error
		if asAPIError(err, &ae) {
			data.LogsNote = ae.Message
		}
	default:
		u.fail(w, r, s, err)
		return
	}
	events := "/api/v1/projects/" + url.PathEscape(project) + "/events?deployment=" + url.QueryEscape(id) + "&logs=true&after=" +
		url.QueryEscape(strconv.FormatInt(data.LastEvent, 10))
	if data.LastLogAt > 0 {
		events += url.QueryEscape(":" + strconv.FormatInt(data.LastLogAt, 10))
	}
	u.render(w, r, s, http.StatusOK, "deployment", view{Title: "Deployment " + d.ID + " of " + project, Nav: "projects", Data: data, Events: events})
}

type teamsPage struct{ Teams []api.Team }

func (u *UI) teams(w http.ResponseWriter, r *http.Request, s *session) {
	ts, err := u.client(r).AllTeams(r.Context())
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	u.render(w, r, s, http.StatusOK, "teams", view{Title: "Teams", Nav: "teams", Data: teamsPage{Teams: ts}})
}

type teamPage struct {
	Team     *api.Team
	Projects []api.Project
	CSRF     string
}

func (u *UI) team(w http.ResponseWriter, r *http.Request, s *session) {
	name := mux.Vars(r)["team"]
	c := u.client(r)
	t, err := c.GetTeam(r.Context(), name)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	all, err := allProjects(r.Context(), c)
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	data := teamPage{Team: t, CSRF: s.CSRF}
	for _, p := range all {
		if p.Owner == "team:"+t.Name {
			data.Projects = append(data.Projects, p)
		}
	}
	u.render(w, r, s, http.StatusOK, "team", view{Title: "Team " + t.Name, Nav: "teams", Data: data})
}

func (u *UI) me(w http.ResponseWriter, r *http.Request, s *session) {
	me, err := u.client(r).Me(r.Context())
	if err != nil {
		u.fail(w, r, s, err)
		return
	}
	u.render(w, r, s, http.StatusOK, "me", view{Title: me.Name, Nav: "me", Data: me})
}
