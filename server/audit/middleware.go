package audit

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// APIPrefix is where the API is mounted; route templates and targets are
// recorded without it.
const APIPrefix = "/api/v1"

// Middleware records every state-changing request (POST, PUT, PATCH,
// DELETE) that matched a route, once, after the handler ran, with the
// response's status. Use it on the /api/v1 router (mux Router.Use), inside
// authentication, so the identity and the route are known. Reads by service
// accounts are recorded as auth.service_account, at most once per account
// and source address every 5 minutes per server. Routes under /auth/ are
// left to the auth package's own events (RecordRequest).
//
// The insert runs synchronously after the handler: the response is
// complete but the connection waits for one INSERT (well under a
// millisecond on a local database), so an acknowledged change is always in
// the log. A failed insert is logged and does not change the response. A
// handler that panics is recorded with status 500.
func (rc *Recorder) Middleware(next http.Handler) http.Handler {
	if rc == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		changing := stateChanging(r.Method)
		id := identity.From(r.Context())
		if !changing && !id.IsServiceAccount() {
			next.ServeHTTP(w, r)
			return
		}
		tpl := routeTemplate(r)
		if strings.HasPrefix(tpl, "/auth/") {
			next.ServeHTTP(w, r)
			return
		}
		sw := httpx.NewRecorder(w)
		done := false
		defer func() {
			if !done { // the handler panicked: the server answers 500
				rc.RecordRequest(r, rc.requestEvent(r, w, tpl, http.StatusInternalServerError))
			}
		}()
		next.ServeHTTP(sw, r)
		done = true
		if !changing && !rc.saSeen.first(id.ServiceAccount.ID+"|"+rc.clientIP(r), time.Now()) {
			return
		}
		rc.RecordRequest(r, rc.requestEvent(r, w, tpl, sw.StatusOr(http.StatusOK)))
	})
}

// requestEvent describes the request r to route tpl that was answered with status.
func (rc *Recorder) requestEvent(r *http.Request, w http.ResponseWriter, tpl string, status int) Event {
	vars := mux.Vars(r)
	e := Event{
		Action:  ActionFor(r.Method, tpl),
		Project: projectVar(tpl, vars),
		Target:  strings.TrimPrefix(r.URL.Path, APIPrefix),
		Status:  status,
		Details: map[string]any{"method": r.Method, "route": tpl},
	}
	if id := identity.From(r.Context()); !stateChanging(r.Method) && id.IsServiceAccount() {
		// The account's own project: its owners see where it was used.
		e.Action, e.Project = ActionServiceAccount, id.ServiceAccount.Project
	}
	// A created resource names itself in Location (POST /projects carries
	// the project's name only in the body, which is never read).
	if loc := w.Header().Get("Location"); status < 300 && strings.HasPrefix(loc, APIPrefix+"/") {
		e.Target = strings.TrimPrefix(loc, APIPrefix)
		if e.Project == "" {
			if rest, ok := strings.CutPrefix(e.Target, "/projects/"); ok {
				e.Project, _, _ = strings.Cut(rest, "/")
			}
		}
	}
	for k, v := range vars {
		if v != e.Project {
			e.Details[k] = v
		}
	}
	return e
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// routeTemplate is the matched route's path template without APIPrefix,
// e.g. "/projects/{project}/deployments/{id}/stop"; "" when none matched.
func routeTemplate(r *http.Request) string {
	route := mux.CurrentRoute(r)
	if route == nil {
		return ""
	}
	tpl, err := route.GetPathTemplate()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(tpl, APIPrefix)
}

// projectVar is the project a route is about: its {project} variable, or
// {name} under /projects/.
func projectVar(tpl string, vars map[string]string) string {
	if p := vars["project"]; p != "" {
		return p
	}
	if strings.HasPrefix(tpl, "/projects/{name}") {
		return vars["name"]
	}
	return ""
}

// ActionFor names the action of a state-changing request from its route
// template: the resource (the last literal segment, singular) and the verb
// (the method, or a trailing singular literal after an id):
//
//	POST   /projects                          project.create
//	PATCH  /projects/{name}                   project.update
//	DELETE /projects/{name}/service-accounts/{id}  service_account.delete
//	POST   /projects/{project}/deployments/{id}/stop  deployment.stop
//	POST   /projects/{project}/deployment-groups/stop deployment_group.stop
func ActionFor(method, tpl string) string {
	var lits []string
	lastWasVar, collectionAfterVar := false, false
	verbAfterVar := "" // "stop" in /deployments/{id}/stop and /deployment-groups/stop
	for _, seg := range strings.Split(strings.Trim(tpl, "/"), "/") {
		switch {
		case seg == "":
		case strings.HasPrefix(seg, "{"):
			lastWasVar, verbAfterVar, collectionAfterVar = true, "", false
		default:
			verbAfterVar = ""
			if (lastWasVar || collectionAfterVar) && !strings.HasSuffix(seg, "s") { // a verb, not a collection
				verbAfterVar = seg
			}
			collectionAfterVar = lastWasVar && strings.HasSuffix(seg, "s")
			lits = append(lits, seg)
			lastWasVar = false
		}
	}
	if len(lits) == 0 {
		return "api." + strings.ToLower(method)
	}
	if verbAfterVar != "" && len(lits) >= 2 {
		return singular(lits[len(lits)-2]) + "." + ident(verbAfterVar)
	}
	verb := map[string]string{http.MethodPost: "create", http.MethodPut: "set", http.MethodPatch: "update",
		http.MethodDelete: "delete"}[method]
	if verb == "" {
		verb = strings.ToLower(method)
	}
	return singular(lits[len(lits)-1]) + "." + verb
}

func ident(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }

func singular(s string) string {
	s = ident(s)
	switch {
	case strings.HasSuffix(s, "ies"):
		return strings.TrimSuffix(s, "ies") + "y"
	case strings.HasSuffix(s, "ss"), strings.HasSuffix(s, "us"):
		return s
	case strings.HasSuffix(s, "s"):
		return strings.TrimSuffix(s, "s")
	}
	return s
}

// seen remembers keys for a while: service-account reads are recorded once
// per window, not once per long poll.
type seen struct {
	mu     sync.Mutex
	window time.Duration
	at     map[string]time.Time
}

func newSeen(window time.Duration) *seen {
	return &seen{window: window, at: map[string]time.Time{}}
}

// first reports whether key was not seen within the window before now, and
// notes it.
func (s *seen) first(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.at[key]; ok && now.Sub(t) < s.window {
		return false
	}
	if len(s.at) >= 10000 {
		for k, t := range s.at {
			if now.Sub(t) >= s.window {
				delete(s.at, k)
			}
		}
	}
	s.at[key] = now
	return true
}
