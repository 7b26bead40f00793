package ui

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/httpx"
)

// Section is one section of the project page (environments, variables,
// domains, access classes, ...), rendered after the built-in ones in the
// order given. A feature adds its section through Options.Sections:
//
//	ui.Section{ID: "domains", Title: "Custom domains",
//		Load: func(ctx context.Context, c *api.Client, p *api.Project) (any, error) {
//			return c.ListDomains(ctx, p.Name) // through the API, as the caller
//		},
//		Template: `<ul>{{range .Data}}<li>{{.Name}}</li>{{end}}</ul>`}
//
// Load returns the section's data (nil hides the section; an API error with
// status 403 or 404 hides it too, so a section never reveals more than its
// API route). Template is html/template text executed with .Data (Load's
// result), .Project (api.Project) and .CSRF (the form token every form must
// post as "csrf"); forms post to routes the feature mounts itself.
type Section struct {
	ID, Title string
	Load      func(ctx context.Context, c *api.Client, p *api.Project) (any, error)
	Template  string
}

// pages holds the parsed templates: one set per page (layout + page) and
// the project page's sections.
type pages struct {
	byName   map[string]*template.Template
	sections *template.Template
	order    []Section
	funcs    template.FuncMap
}

// pageNames are the templates/*.html files that are whole pages.
var pageNames = []string{"projects", "new_project", "project", "deployment", "teams", "team", "me", "error"}

func parsePages(as *assets) (*pages, error) {
	funcs := template.FuncMap{
		"asset": as.url,
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"clock": func(t time.Time) string { return t.UTC().Format("15:04:05.000") },
		"short": shortDigest,
		"join":  strings.Join,
		"unixnano": func(t time.Time) int64 {
			return t.UnixNano()
		},
	}
	p := &pages{byName: map[string]*template.Template{}, funcs: funcs}
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("ui: template %s: %w", n, err)
		}
		p.byName[n] = t
	}
	sec, err := fs.ReadFile(files, "templates/sections.html")
	if err != nil {
		return nil, fmt.Errorf("ui: sections: %w", err)
	}
	if p.sections, err = template.New("sections").Funcs(funcs).Parse(string(sec)); err != nil {
		return nil, fmt.Errorf("ui: sections: %w", err)
	}
	return p, nil
}

// addSection adds an extra project page section.
func (p *pages) addSection(s Section) error {
	if s.ID == "" || s.Title == "" || s.Load == nil {
		return fmt.Errorf("ui: section %q: ID, Title and Load are required", s.ID)
	}
	if p.sections.Lookup("section-"+s.ID) != nil {
		return fmt.Errorf("ui: section %q is defined twice", s.ID)
	}
	if _, err := p.sections.New("section-" + s.ID).Parse(s.Template); err != nil {
		return fmt.Errorf("ui: section %q: %w", s.ID, err)
	}
	p.order = append(p.order, s)
	return nil
}

// renderedSection is a section's HTML, produced by executing its
// html/template (which escapes all data) — never user text as HTML.
type renderedSection struct {
	ID, Title string
	HTML      template.HTML
}

func (p *pages) section(id, title string, data any) (renderedSection, error) {
	var b bytes.Buffer
	if err := p.sections.ExecuteTemplate(&b, "section-"+id, data); err != nil {
		return renderedSection{}, fmt.Errorf("ui: section %s: %w", id, err)
	}
	return renderedSection{ID: id, Title: title, HTML: template.HTML(b.String())}, nil // #nosec: template output
}

// view is what every page template gets.
type view struct {
	Title      string
	Nav        string // projects, teams, me: the current main navigation entry
	User       string // the signed-in user's name ("" on error pages without a session)
	CSRF       string
	LogoutPath string
	Events     string // the event stream this page follows ("" for none)
	Data       any
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, v view) {
	if s != nil {
		v.User, v.CSRF = s.ID.Name, s.CSRF
	}
	v.LogoutPath = u.o.LogoutPath
	var b bytes.Buffer
	if err := u.pages.byName[name].ExecuteTemplate(&b, "layout", v); err != nil {
		httpx.Logger(r).Error("dashboard: render", "page", name, "error", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Heading string
	Message string
}

func (u *UI) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	heading := http.StatusText(status)
	if status == http.StatusNotFound {
		heading = "Not found"
	}
	u.render(w, r, s, status, "error", view{Title: heading, Data: errorPage{Status: status, Heading: heading, Message: msg}})
}

// shortDigest shortens "repo@sha256:abcdef..." to "sha256:abcdef123456".
func shortDigest(s string) string {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 19 && strings.HasPrefix(s, "sha256:") {
		return s[:19]
	}
	return s
}
