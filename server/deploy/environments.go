package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk/apphost"
	"github.com/riseplatform/rise/server/environments"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// environmentRoutes mounts environments and deployment groups.
func (s *Service) environmentRoutes(r *mux.Router) {
	e := r.PathPrefix("/projects/{project}/environments").Subrouter()
	e.HandleFunc("", s.listEnvironments).Methods(http.MethodGet)
	e.HandleFunc("", s.createEnvironment).Methods(http.MethodPost)
	e.HandleFunc("/{env}", s.getEnvironment).Methods(http.MethodGet)
	e.HandleFunc("/{env}", s.updateEnvironment).Methods(http.MethodPatch)
	e.HandleFunc("/{env}", s.deleteEnvironment).Methods(http.MethodDelete)
	g := r.PathPrefix("/projects/{project}/deployment-groups").Subrouter()
	g.HandleFunc("", s.listGroups).Methods(http.MethodGet)
	g.HandleFunc("/stop", s.stopGroup).Methods(http.MethodPost)
}

// environment reads environment name of p, answering 404 with the
// project's environments when it is missing.
func (s *Service) environment(ctx context.Context, p *store.Project, name string) (*environments.Environment, error) {
	return s.envs.Lookup(ctx, p.ID, p.Name, name)
}

// mayDeployTo checks that id may deploy to (or stop deployments of)
// environment e of p: a service account limited to environments must name
// e; a protected environment takes only the project's owners and service
// accounts that name it.
func (s *Service) mayDeployTo(ctx context.Context, id *identity.Identity, p *store.Project, e *environments.Environment) error {
	if id.IsServiceAccount() {
		sa := id.ServiceAccount
		named := slices.Contains(sa.Environments, e.Name)
		switch {
		case len(sa.Environments) > 0 && !named:
			return httpx.NewError(http.StatusForbidden,
				fmt.Sprintf("Service account %s may deploy only to %s of project '%s', not to %s.", id.Subject(),
					strings.Join(sa.Environments, ", "), p.Name, e.Name),
				"An owner can change that with 'rise service-account create --environment'.")
		case e.Protected && !named:
			return httpx.NewError(http.StatusForbidden,
				fmt.Sprintf("Environment '%s' of project '%s' is protected: only owners and service accounts limited to it may deploy.", e.Name, p.Name),
				fmt.Sprintf("Create a service account with --environment %s.", e.Name))
		}
		return nil
	}
	if !e.Protected {
		return nil
	}
	if _, err := s.o.Store.ProjectFor(ctx, id, p.Name, store.AccessDelete); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return httpx.NewError(http.StatusForbidden,
				fmt.Sprintf("Environment '%s' of project '%s' is protected: only owners and service accounts limited to it may deploy.", e.Name, p.Name),
				"Ask an owner of the project to deploy, or to use a service account for it.")
		}
		return err
	}
	return nil
}

// envAPI converts e with its URL and active deployment (of its default
// group).
func (s *Service) envAPI(p *store.Project, e *environments.Environment, active map[string]*row) api.Environment {
	out := e.API()
	if s.o.AppURL != nil {
		out.URL = s.o.AppURL(apphost.Target{Project: p.Name, Environment: e.Name}.Label())
	}
	if d := active[e.Name]; d != nil {
		ad := s.toAPI(d)
		out.Deployment = &ad
		if ad.URL != "" {
			out.URL = ad.URL
		}
	}
	return out
}

func (s *Service) activeByEnv(ctx context.Context, p *store.Project) (map[string]*row, error) {
	rows, err := s.repo.ActiveDefaults(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*row, len(rows))
	for _, d := range rows {
		m[d.Environment] = d
	}
	return m, nil
}

func (s *Service) listEnvironments(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	envs, err := s.envs.List(r.Context(), p.ID)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	active, err := s.activeByEnv(r.Context(), p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	out := api.EnvironmentList{Environments: make([]api.Environment, 0, len(envs))}
	for _, e := range envs {
		out.Environments = append(out.Environments, s.envAPI(p, e, active))
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (s *Service) getEnvironment(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	e, err := s.environment(r.Context(), p, mux.Vars(r)["env"])
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	active, err := s.activeByEnv(r.Context(), p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, s.envAPI(p, e, active))
}

// checkEnvRequest validates the settings of a create or update.
func checkEnvRequest(req *api.EnvironmentRequest) error {
	if req.Replicas != nil && (*req.Replicas < 0 || *req.Replicas > 100) {
		return httpx.Errorf(http.StatusBadRequest, "Invalid replicas %d (0-100).", *req.Replicas)
	}
	for what, v := range map[string]*string{"cpu": req.CPU, "memory": req.Memory} {
		if v != nil && len(*v) > 32 {
			return httpx.Errorf(http.StatusBadRequest, "Invalid %s %.40q.", what, *v)
		}
	}
	return nil
}

// mayProtect: changing protection is an owner's decision (it decides who
// may deploy).
func (s *Service) mayProtect(ctx context.Context, id *identity.Identity, p *store.Project) error {
	if _, err := s.o.Store.ProjectFor(ctx, id, p.Name, store.AccessDelete); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return httpx.NewError(http.StatusForbidden, fmt.Sprintf("Only owners of project '%s' can protect or unprotect its environments.", p.Name))
		}
		return err
	}
	return nil
}

func (s *Service) createEnvironment(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.EnvironmentRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := s.createEnv(r.Context(), p, id, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	e, err := s.envs.Get(r.Context(), p.ID, req.Name)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	s.o.Log.Info("environment created", "project", p.Name, "environment", e.Name, "by", id.Subject())
	w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/environments/"+e.Name)
	httpx.JSON(w, http.StatusCreated, s.envAPI(p, e, nil))
}

func (s *Service) createEnv(ctx context.Context, p *store.Project, id *identity.Identity, req *api.EnvironmentRequest) error {
	if err := checkEnvRequest(req); err != nil {
		return err
	}
	if err := (apphost.Target{Project: p.Name, Environment: req.Name}).Check(); err != nil {
		return httpx.NewError(http.StatusBadRequest, capitalize(err.Error())+".")
	}
	if req.Protected != nil && *req.Protected {
		if err := s.mayProtect(ctx, id, p); err != nil {
			return err
		}
	}
	// The environment's host <project>--<name> must not be a live group's.
	if envs, err := s.repo.LiveEnvironments(ctx, p.ID, req.Name); err != nil {
		return err
	} else if len(envs) > 0 {
		return httpx.NewError(http.StatusConflict,
			fmt.Sprintf("Project '%s' has a deployment group named '%s' (in %s); an environment of that name would share its URL.",
				p.Name, req.Name, strings.Join(envs, ", ")),
			fmt.Sprintf("Stop the group first ('rise deployment stop %s --group %s') or pick another name.", p.Name, req.Name))
	}
	e := environments.Environment{ProjectID: p.ID, Name: req.Name}
	if req.Production != nil {
		e.Production = *req.Production
	}
	if req.Protected != nil {
		e.Protected = *req.Protected
	}
	if req.Replicas != nil {
		e.Replicas = *req.Replicas
	}
	if req.CPU != nil {
		e.CPU = *req.CPU
	}
	if req.Memory != nil {
		e.Memory = *req.Memory
	}
	_, err := s.envs.Create(ctx, e)
	if errors.Is(err, environments.ErrExists) {
		return httpx.NewError(http.StatusConflict, fmt.Sprintf("Project '%s' already has an environment '%s'.", p.Name, req.Name))
	}
	return err
}

func (s *Service) updateEnvironment(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.EnvironmentRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := mux.Vars(r)["env"]
	if _, err := s.environment(r.Context(), p, name); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if req.Name != "" && req.Name != name {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "Environments cannot be renamed (their name is part of their URL).",
			"Create a new environment and delete this one."))
		return
	}
	if err := checkEnvRequest(&req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if req.Protected != nil {
		if err := s.mayProtect(r.Context(), id, p); err != nil {
			httpx.Err(w, r, err)
			return
		}
	}
	e, err := s.envs.Update(r.Context(), p.ID, name, environments.Change{Production: req.Production, Protected: req.Protected,
		Replicas: req.Replicas, CPU: req.CPU, Memory: req.Memory})
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	active, err := s.activeByEnv(r.Context(), p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	s.o.Log.Info("environment updated", "project", p.Name, "environment", e.Name, "by", id.Subject())
	httpx.JSON(w, http.StatusOK, s.envAPI(p, e, active))
}

func (s *Service) deleteEnvironment(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	e, err := s.environment(r.Context(), p, mux.Vars(r)["env"])
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	switch {
	case e.IsDefault():
		err = httpx.NewError(http.StatusConflict, fmt.Sprintf("Environment '%s' is the default environment of project '%s' and cannot be deleted.", e.Name, p.Name))
	case e.Protected:
		err = s.mayProtect(r.Context(), id, p)
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	live, err := s.repo.LiveIn(r.Context(), p.ID, e.Name)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if live {
		httpx.Err(w, r, httpx.NewError(http.StatusConflict, fmt.Sprintf("Environment '%s' of project '%s' still has running deployments.", e.Name, p.Name),
			fmt.Sprintf("Stop them first: rise deployment list %s -E %s", p.Name, e.Name)))
		return
	}
	if err := s.deleteEnv(r.Context(), p, e.Name); err != nil {
		httpx.Err(w, r, err)
		return
	}
	s.o.Log.Info("environment deleted", "project", p.Name, "environment", e.Name, "by", id.Subject())
	w.WriteHeader(http.StatusNoContent)
}

// deleteEnv deletes environment name of p, its deployments' history and
// its own variables in one transaction.
func (s *Service) deleteEnv(ctx context.Context, p *store.Project, name string) error {
	return s.repo.tx(ctx, func(tx pgx.Tx) error {
		if err := environments.New(tx).Delete(ctx, p.ID, name); err != nil {
			return err
		}
		if s.o.Variables == nil {
			return nil
		}
		return s.o.Variables.DeleteEnvironment(ctx, tx, p.ID, name)
	})
}

func (s *Service) listGroups(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	rows, err := s.repo.Groups(r.Context(), p.ID)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	out := api.DeploymentGroupList{Groups: make([]api.DeploymentGroup, 0, len(rows))}
	for _, d := range rows {
		g := api.DeploymentGroup{Environment: d.Environment, Group: d.Group, Deployment: s.toAPI(d)}
		switch {
		case len(d.URLs) > 0:
			g.URL = d.URLs[0]
		case s.o.AppURL != nil:
			g.URL = s.o.AppURL(d.target().Label())
		}
		out.Groups = append(out.Groups, g)
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (s *Service) stopGroup(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessDeploy)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.StopGroupRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if req.Environment == "" {
		req.Environment = api.DefaultEnvironment
	}
	if req.Group == "" {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "No group given.", "Pass the group to stop, e.g. {\"group\": \"mr/27\"}."))
		return
	}
	e, err := s.environment(r.Context(), p, req.Environment)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := s.mayDeployTo(r.Context(), id, p, e); err != nil {
		httpx.Err(w, r, err)
		return
	}
	rows, err := s.repo.MutateGroup(r.Context(), p.ID, e.Name, req.Group, func(d *row) (change, error) {
		if d.State == deploy.Terminating || d.State == deploy.Cancelling {
			return change{}, errSkip // already on its way out
		}
		return stopChange(d, id)
	})
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if len(rows) == 0 {
		httpx.Err(w, r, httpx.NewError(http.StatusNotFound,
			fmt.Sprintf("Group '%s' of environment '%s' of project '%s' has no running deployments.", req.Group, e.Name, p.Name),
			fmt.Sprintf("Run 'rise deployment list %s --group %s' to see its deployments.", p.Name, req.Group)))
		return
	}
	out := api.StopGroupResponse{Deployments: make([]api.Deployment, 0, len(rows))}
	for _, d := range rows {
		out.Deployments = append(out.Deployments, s.toAPI(d))
	}
	s.o.Log.Info("deployment group stopped", "project", p.Name, "environment", e.Name, "group", req.Group,
		"deployments", len(rows), "by", id.Subject())
	httpx.JSON(w, http.StatusOK, out)
}

// stopChange is the change that stops d (Terminating → Stopped) or, before
// it reached the runtime, cancels it; terminating or cancelling ones are
// refused.
func stopChange(d *row, id *identity.Identity) (change, error) {
	switch {
	case d.State.Terminal(), d.State == deploy.Terminating || d.State == deploy.Cancelling:
		return change{}, httpx.NewError(http.StatusConflict, fmt.Sprintf("Deployment '%s' is already %s.", d.ID, d.State))
	case d.State.Active() || d.State == deploy.Deploying:
		return change{State: deploy.Terminating, StopTarget: deploy.Stopped, Active: boolp(false),
			Message: str("Stopped by " + id.Subject())}, nil
	default:
		return change{State: deploy.Cancelling, Message: str("Cancelled by " + id.Subject())}, nil
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
