package variables

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/store"
)

// Routes mounts the variables API on the /api/v1 router.
func (s *Service) Routes(r *mux.Router) {
	p := r.PathPrefix("/projects/{project}/env").Subrouter()
	p.HandleFunc("", s.list).Methods(http.MethodGet)
	p.HandleFunc("", s.set).Methods(http.MethodPatch)
	p.HandleFunc("/{name}", s.get).Methods(http.MethodGet)
	p.HandleFunc("/{name}", s.unset).Methods(http.MethodDelete)
}

// need is what a request does with a project's variables.
type need int

const (
	needRead   need = iota // list, get (secrets masked)
	needWrite              // set, unset
	needReveal             // read secret values
)

// project authorizes the caller: a project the caller cannot see is "not
// found"; service accounts, which may see their project, may not read or
// change its variables; only owners reveal.
func (s *Service) project(r *http.Request, n need) (*store.Project, *identity.Identity, error) {
	id, err := web.Caller(r)
	if err != nil {
		return nil, nil, err
	}
	name := mux.Vars(r)["project"]
	p, perm, err := s.o.Store.ProjectPermissions(r.Context(), id, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, httpx.NewError(http.StatusNotFound, fmt.Sprintf("Project '%s' not found.", name))
	case err != nil:
		return nil, nil, err
	case id.IsServiceAccount():
		return nil, nil, httpx.NewError(http.StatusForbidden, "Service accounts cannot read or change variables; they deploy with them.")
	case !perm.Can(store.AccessWrite):
		return nil, nil, httpx.NewError(http.StatusForbidden, fmt.Sprintf("You may not see the variables of project '%s'.", name))
	case n == needReveal && !perm.Can(store.AccessDelete):
		return nil, nil, httpx.NewError(http.StatusForbidden, fmt.Sprintf("Only owners of project '%s' may reveal secret values; ask one of them, or drop --reveal.", name))
	case n == needWrite && p.Status == store.StatusDeleting:
		return nil, nil, httpx.Errorf(http.StatusConflict, "Project '%s' is being deleted.", name)
	}
	return p, id, nil
}

// target is project (authorized for n) and scope of a request.
func (s *Service) target(r *http.Request, n need) (*store.Project, *identity.Identity, string, error) {
	p, id, err := s.project(r, n)
	if err != nil {
		return nil, nil, "", err
	}
	scope, err := s.scope(r, p)
	if err != nil {
		return nil, nil, "", err
	}
	return p, id, scope, nil
}

// scope reads ?environment=: "" (absent) is the project-wide scope, else
// an environment of p, which must exist (404 like the environments API).
func (s *Service) scope(r *http.Request, p *store.Project) (string, error) {
	name := r.URL.Query().Get("environment")
	if name == "" {
		return "", nil
	}
	if _, err := s.envs.Lookup(r.Context(), p.ID, p.Name, name); err != nil {
		return "", err
	}
	return name, nil
}

// in is " (environment E)" for messages about scope.
func in(scope string) string {
	if scope == "" {
		return ""
	}
	return fmt.Sprintf(" (environment '%s')", scope)
}

// reveal reads ?reveal=true.
func reveal(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("reveal"); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, httpx.Errorf(http.StatusBadRequest, "Invalid reveal %q: want true or false.", v)
	}
}

// toAPI converts v, opening its value when it is plain, or a secret and
// revealing. Protected values never leave.
func (s *Service) toAPI(r *http.Request, v *version, revealing bool) (api.Variable, error) {
	out := api.Variable{Name: v.Name, Environment: v.Environment, Kind: v.Kind, UpdatedAt: v.CreatedAt, UpdatedBy: v.CreatedBy}
	if v.Kind == api.KindPlain || (v.Kind == api.KindSecret && revealing) {
		val, err := s.open(r.Context(), v)
		if err != nil {
			return out, err
		}
		out.Value = &val
	}
	return out, nil
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	rev, err := reveal(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	n := needRead
	if rev {
		n = needReveal
	}
	p, _, scope, err := s.target(r, n)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	vs, err := s.repo.Effective(r.Context(), p.ID, scope)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	out := api.VariableList{Variables: []api.Variable{}}
	var revealed []string
	for _, v := range vs {
		a, err := s.toAPI(r, v, rev)
		if err != nil {
			httpx.Err(w, r, err)
			return
		}
		if rev && v.Kind == api.KindSecret {
			revealed = append(revealed, v.Name)
		}
		out.Variables = append(out.Variables, a)
	}
	if len(revealed) > 0 {
		s.audit(r, p, scope, ActionReveal, revealed, "")
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	rev, err := reveal(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	n := needRead
	if rev {
		n = needReveal
	}
	p, _, scope, err := s.target(r, n)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	v, err := s.repo.EffectiveOne(r.Context(), p.ID, scope, name)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if v == nil {
		httpx.Err(w, r, s.notSet(p.Name, scope, name))
		return
	}
	if rev && v.Kind == api.KindProtected {
		httpx.Err(w, r, httpx.NewError(http.StatusForbidden, fmt.Sprintf("%s is protected: its value cannot be read back by anyone (set a new one with 'rise env set %s=- --protected').", name, name)))
		return
	}
	a, err := s.toAPI(r, v, rev)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if rev && v.Kind == api.KindSecret {
		s.audit(r, p, v.Environment, ActionReveal, []string{name}, "")
	}
	httpx.JSON(w, http.StatusOK, a)
}

func (s *Service) notSet(project, scope, name string) error {
	list := "rise env list -p " + project
	if scope != "" {
		list += " -E " + scope
	}
	return httpx.NewError(http.StatusNotFound, fmt.Sprintf("Variable '%s' is not set in project '%s'%s (see '%s').", name, project, in(scope), list))
}

func (s *Service) set(w http.ResponseWriter, r *http.Request) {
	p, id, scope, err := s.target(r, needWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.SetVariablesRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if len(req.Variables) == 0 {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "No variables to set: give NAME=VALUE pairs."))
		return
	}
	if len(req.Variables) > names.MaxVariables {
		httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "%d variables in one request; a project has at most %d.", len(req.Variables), names.MaxVariables))
		return
	}
	if s.o.Keyring == nil {
		httpx.Err(w, r, httpx.NewError(http.StatusServiceUnavailable, "This rise server has no encryption key configured, so it cannot store variables; "+
			"its operator adds an encryption block to server.hcl (docs/secrets.md)."))
		return
	}
	seen := map[string]bool{}
	vs := make([]*version, 0, len(req.Variables))
	for _, in := range req.Variables {
		if err := names.ValidateVariable(in.Name, in.Value); err != nil {
			httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, capitalize(err.Error())+"."))
			return
		}
		if seen[in.Name] {
			httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "%s is given twice.", in.Name))
			return
		}
		seen[in.Name] = true
		kind := in.Kind
		switch kind {
		case "":
			kind = api.KindPlain
		case api.KindPlain, api.KindSecret, api.KindProtected:
		default:
			httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "Invalid kind %q for %s: want plain, secret or protected.", kind, in.Name))
			return
		}
		sealed, err := s.seal(r.Context(), p.ID, scope, in.Name, in.Value)
		if err != nil {
			httpx.Err(w, r, fmt.Errorf("seal %s: %w", in.Name, err))
			return
		}
		vs = append(vs, &version{ProjectID: p.ID, Environment: scope, Name: in.Name, Kind: kind, Sealed: sealed, CreatedBy: id.Subject()})
	}
	if err := s.repo.Set(r.Context(), p.ID, scope, vs, names.MaxVariables); err != nil {
		if errors.Is(err, errNoEnvironment) { // deleted since s.scope
			if _, lerr := s.envs.Lookup(r.Context(), p.ID, p.Name, scope); lerr != nil {
				err = lerr
			}
		}
		if errors.Is(err, errTooMany) {
			err = httpx.NewError(http.StatusBadRequest, fmt.Sprintf("Project '%s'%s would have more than %d variables; unset the ones it no longer needs ('rise env unset NAME').", p.Name, in(scope), names.MaxVariables))
		}
		httpx.Err(w, r, err)
		return
	}
	out := api.VariableList{Variables: []api.Variable{}}
	byKind := map[api.VariableKind][]string{}
	for _, v := range vs {
		out.Variables = append(out.Variables, api.Variable{Name: v.Name, Environment: v.Environment, Kind: v.Kind, UpdatedAt: v.CreatedAt, UpdatedBy: v.CreatedBy})
		byKind[v.Kind] = append(byKind[v.Kind], v.Name)
	}
	for _, k := range []api.VariableKind{api.KindPlain, api.KindSecret, api.KindProtected} {
		if len(byKind[k]) > 0 {
			s.audit(r, p, scope, ActionSet, byKind[k], k)
		}
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (s *Service) unset(w http.ResponseWriter, r *http.Request) {
	p, _, scope, err := s.target(r, needWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["name"]
	found, err := s.repo.Unset(r.Context(), p.ID, scope, name)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if !found {
		httpx.Err(w, r, s.notSet(p.Name, scope, name))
		return
	}
	s.audit(r, p, scope, ActionUnset, []string{name}, "")
	w.WriteHeader(http.StatusNoContent)
}

// audit records who did action to which names of scope (never values).
func (s *Service) audit(r *http.Request, p *store.Project, scope, action string, names []string, kind api.VariableKind) {
	if s.o.Audit == nil {
		return
	}
	d := map[string]any{"names": slices.Clone(names)}
	if scope != "" {
		d["environment"] = scope
	}
	if kind != "" {
		d["kind"] = string(kind)
	}
	s.o.Audit.RecordRequest(r, audit.Event{Action: action, Project: p.Name, Status: http.StatusOK, Details: d})
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
