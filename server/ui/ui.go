// Package ui is rise's web dashboard: server-rendered pages (html/template,
// embedded in the binary) at the public URL, with a little dependency-free
// JavaScript (static/app.js) for live updates through the project event
// stream (GET /api/v1/projects/{p}/events). Every page is readable without
// JavaScript.
//
// The dashboard is a client of the API, in process: every read and every
// action (create project, deploy an image, roll back, stop, delete, team
// membership, token revocation) is a request to the very /api/v1 route the
// CLI uses, served by the same router — so authorization (another team's
// private project is a 404 page), validation, error messages and the audit
// log (server/audit's middleware) are exactly the API's. The caller is the
// browser session (server/auth's rise_session cookie); pages redirect to
// the existing browser login (/auth/login: local users or OIDC).
//
// Web security: a CSRF token on every form (an HMAC keyed by the session
// cookie, so only a page the session's owner loaded carries it) and a
// same-origin check on every POST; a strict Content-Security-Policy (no
// inline script or style, no eval, frame-ancestors 'none'); templates escape
// everything (no template.HTML). Static assets have fingerprinted names and
// are cached for a year. Responses are gzip-compressed.
//
//	GET  /                                         → /projects
//	GET  /projects[?q=&visibility=&status=]        projects, filtered
//	GET  /projects/new, POST /projects             create a project
//	GET  /projects/{p}                             project: groups, deployments, sections
//	POST /projects/{p}/deployments                 deploy an existing image
//	POST /projects/{p}/delete                      delete (typed-name confirmation)
//	GET  /projects/{p}/deployments/{id}[?q=]       deployment: timeline, logs
//	POST /projects/{p}/deployments/{id}/rollback   roll back to this deployment
//	POST /projects/{p}/deployments/{id}/stop       stop
//	GET  /teams, GET /teams/{t}                    teams, a team (members, projects)
//	POST /teams/{t}/members                        add or remove an owner or member
//	GET  /me, POST /me/revoke                      the signed-in user; revoke every token and session
//	GET  /static/{name}                            fingerprinted assets
package ui

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/klauspost/compress/gzhttp"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// Options configure the dashboard.
type Options struct {
	// PublicURL is rise's public URL (login return addresses, the
	// same-origin check of form posts). Required.
	PublicURL string
	// Identity authenticates a request by its browser session cookie
	// (server/auth's IdentityFromRequest). Required.
	Identity func(*http.Request) (*identity.Identity, error)
	// SessionCookie is the name of the browser session cookie the CSRF
	// tokens are bound to (server/auth's SessionCookie).
	SessionCookie string
	// LoginPath and LogoutPath are the browser login and logout routes
	// (default /auth/login and /auth/logout).
	LoginPath, LogoutPath string
	// Sections are extra sections of the project page, after the built-in
	// ones (see Section).
	Sections []Section
	Log      hclog.Logger
}

// UI serves the dashboard; mount it on the root router (Routes).
type UI struct {
	o      Options
	origin string // scheme://host of PublicURL
	api    http.Handler
	pages  *pages
	assets *assets
	log    hclog.Logger
}

// New returns the dashboard.
func New(o Options) (*UI, error) {
	if o.Identity == nil {
		return nil, errors.New("ui: no identity function")
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("ui: public URL %q is not an absolute URL", o.PublicURL)
	}
	if o.LoginPath == "" {
		o.LoginPath = "/auth/login"
	}
	if o.LogoutPath == "" {
		o.LogoutPath = "/auth/logout"
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	ps, err := parsePages(as)
	if err != nil {
		return nil, err
	}
	ui := &UI{o: o, origin: u.Scheme + "://" + u.Host, pages: ps, assets: as, log: o.Log.Named("ui")}
	for _, s := range o.Sections {
		if err := ps.addSection(s); err != nil {
			return nil, err
		}
	}
	return ui, nil
}

// Routes mounts the dashboard on the root router r; its actions are served
// by the API routes on the same router.
func (u *UI) Routes(r *mux.Router) {
	u.api = r
	gz, err := gzhttp.NewWrapper(gzhttp.MinSize(1024))
	if err != nil {
		panic(fmt.Sprintf("ui: gzip wrapper: %v", err)) // only for invalid options
	}
	page := func(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
		return gz(u.secure(u.authenticated(h)))
	}
	action := func(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
		return u.secure(u.authenticated(u.checkForm(h)))
	}
	get, post := http.MethodGet, http.MethodPost
	r.Handle("/", u.secure(http.RedirectHandler("/projects", http.StatusFound))).Methods(get)
	r.Handle("/projects", page(u.projects)).Methods(get)
	r.Handle("/projects", action(u.createProject)).Methods(post)
	r.Handle("/projects/new", page(u.newProject)).Methods(get)
	r.Handle("/projects/{project}", page(u.project)).Methods(get)
	r.Handle("/projects/{project}/deployments", action(u.deployImage)).Methods(post)
	r.Handle("/projects/{project}/delete", action(u.deleteProject)).Methods(post)
	r.Handle("/projects/{project}/deployments/{id}", page(u.deployment)).Methods(get)
	r.Handle("/projects/{project}/deployments/{id}/rollback", action(u.rollback)).Methods(post)
	r.Handle("/projects/{project}/deployments/{id}/stop", action(u.stop)).Methods(post)
	r.Handle("/teams", page(u.teams)).Methods(get)
	r.Handle("/teams/{team}", page(u.team)).Methods(get)
	r.Handle("/teams/{team}/members", action(u.teamMembers)).Methods(post)
	r.Handle("/me", page(u.me)).Methods(get)
	r.Handle("/me/revoke", action(u.revokeAll)).Methods(post)
	r.Handle("/static/{name}", gz(http.HandlerFunc(u.assets.serve))).Methods(get, http.MethodHead)
}

// CSP is the dashboard's Content-Security-Policy: scripts, styles and
// connections (the event stream) only from rise itself, nothing inline, no
// eval, forms only to rise, never framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// secure sets the security headers of every dashboard response.
func (u *UI) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// session is the signed-in browser of a request.
type session struct {
	ID   *identity.Identity
	CSRF string // the form token of this session
}

// authenticated resolves the browser session; a request without one goes
// to the browser login, which comes back here.
func (u *UI) authenticated(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := u.o.Identity(r)
		if err != nil && !errors.Is(err, errAnonymous) {
			httpx.Logger(r).Debug("dashboard: refused session", "error", err)
			id = nil
		}
		if id == nil || id.IsServiceAccount() {
			if r.Method != http.MethodGet {
				u.renderError(w, r, nil, http.StatusForbidden, "Your session has ended. Log in again and retry.")
				return
			}
			http.Redirect(w, r, u.o.LoginPath+"?rd="+url.QueryEscape(u.origin+r.URL.RequestURI()), http.StatusFound)
			return
		}
		server.RecordCaller(r, id)
		c, _ := r.Cookie(u.o.SessionCookie)
		s := &session{ID: id, CSRF: csrfToken(c)}
		h(w, r.WithContext(identity.With(r.Context(), id)), s)
	})
}

// errAnonymous may be returned by Options.Identity for "no session"; nil
// with a nil error means the same.
var errAnonymous = errors.New("no session")

// checkForm refuses a form post that does not come from a dashboard page of
// this session: another origin, or a missing or wrong CSRF token.
func (u *UI) checkForm(h func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			u.renderError(w, r, s, http.StatusBadRequest, "The form could not be read.")
			return
		}
		origin := r.Header.Get("Origin")
		sameOrigin := origin == "" || origin == u.origin
		if !sameOrigin || s.CSRF == "" || subtle.ConstantTimeCompare([]byte(s.CSRF), []byte(r.PostForm.Get("csrf"))) != 1 {
			httpx.Logger(r).Warn("dashboard: refused a form post without a valid CSRF token",
				"path", r.URL.Path, "origin", origin, "user", s.ID.Name)
			u.renderError(w, r, s, http.StatusForbidden, "This form has expired or did not come from rise. Reload the page and try again.")
			return
		}
		h(w, r, s)
	}
}

// client is the typed API client of the request's caller, served in
// process by the API's own routes and middleware (audit included).
func (u *UI) client(r *http.Request) *api.Client {
	return &api.Client{BaseURL: u.origin, HTTP: &http.Client{Transport: inProcess{h: u.api, from: r}}, UserAgent: "rise-dashboard"}
}

// inProcess serves API requests with the router in this process, as the
// browser request from (its identity, request id, source address).
type inProcess struct {
	h    http.Handler
	from *http.Request
}

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.RemoteAddr = t.from.RemoteAddr
	req.Host = t.from.Host
	req.RequestURI = req.URL.RequestURI()
	for _, k := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded", "X-Request-Id"} {
		if v := t.from.Header.Values(k); len(v) > 0 {
			req.Header[k] = v
		}
	}
	rec := newResponseBuffer()
	t.h.ServeHTTP(rec, req)
	return rec.response(req), nil
}

// apiStatus is the HTTP status of an API error (500 for anything else).
func apiStatus(err error) int {
	if s := api.StatusOf(err); s != 0 {
		return s
	}
	return http.StatusInternalServerError
}

// fail renders err from the API as an error page with its status.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := apiStatus(err)
	msg := "Something went wrong; the server log has the details."
	var ae *api.Error
	if errors.As(err, &ae) && status < 500 {
		msg = ae.Message
		if len(ae.Suggestions) > 0 {
			msg += " " + strings.Join(ae.Suggestions, " ")
		}
	} else if errors.Is(err, context.Canceled) {
		return
	} else {
		httpx.Logger(r).Error("dashboard: API call failed", "path", r.URL.Path, "error", err)
	}
	u.renderError(w, r, s, status, msg)
}
