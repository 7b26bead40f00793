package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/store"
	"github.com/riseplatform/rise/server/variables"
)

// Routes mounts the deployments API on the /api/v1 router.
func (s *Service) Routes(r *mux.Router) {
	p := r.PathPrefix("/projects/{project}/deployments").Subrouter()
	p.HandleFunc("", s.create).Methods(http.MethodPost)
	p.HandleFunc("", s.list).Methods(http.MethodGet)
	p.HandleFunc("/{id}", s.get).Methods(http.MethodGet)
	p.HandleFunc("/{id}/state", s.setState).Methods(http.MethodPost)
	p.HandleFunc("/{id}/rollback", s.rollback).Methods(http.MethodPost)
	p.HandleFunc("/{id}/redeploy", s.redeploy).Methods(http.MethodPost)
	p.HandleFunc("/{id}/stop", s.stop).Methods(http.MethodPost)
	p.HandleFunc("/{id}/logs", s.logs).Methods(http.MethodGet)
	p.HandleFunc("/{id}/timeline", s.timeline).Methods(http.MethodGet)
	s.environmentRoutes(r)
	r.HandleFunc("/projects/{project}/events", s.events).Methods(http.MethodGet) // events.go
}

// project authorizes the caller for access a on the request's project.
func (s *Service) project(r *http.Request, a store.Access) (*store.Project, *identity.Identity, error) {
	return web.Project(r, s.o.Store, "project", a)
}

func (s *Service) notFound(project, id string) error {
	return httpx.NewError(http.StatusNotFound, fmt.Sprintf("Deployment '%s' of project '%s' does not exist.", id, project),
		fmt.Sprintf("Run 'rise deployment list %s' to see its deployments.", project))
}

func (s *Service) toAPI(d *row) api.Deployment { return d.toAPI(s.o.AppURL) }

func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessDeploy)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.CreateDeploymentRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	n, err := s.newDeployment(r.Context(), p, id, &req)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	d, err := s.insertAndRead(r.Context(), *n)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/projects/"+d.Project+"/deployments/"+d.ID)
	httpx.JSON(w, http.StatusCreated, s.toAPI(d))
}

func validateWorkload(wl *api.Workload) error {
	switch {
	case wl.Port < 0 || wl.Port > 65535:
		return httpx.Errorf(http.StatusBadRequest, "Invalid port %d.", wl.Port)
	case wl.Replicas < 0 || wl.Replicas > 100:
		return httpx.Errorf(http.StatusBadRequest, "Invalid replicas %d (0-100).", wl.Replicas)
	case wl.HealthPath != "" && wl.HealthPath[0] != '/':
		return httpx.Errorf(http.StatusBadRequest, "Health path %q must start with '/'.", wl.HealthPath)
	}
	return nil
}

// resolve checks that project may deploy ref and pins it to its digest
// when an image policy is configured. The result is stored in
// image_digest; "" means "not pinned".
func (s *Service) resolve(ctx context.Context, project, ref string) (string, error) {
	if s.o.Images == nil {
		return "", nil
	}
	pinned, err := s.o.Images.Resolve(ctx, project, ref)
	var he *httpx.Error
	if err != nil && !errors.As(err, &he) {
		return "", httpx.NewError(http.StatusBadRequest, fmt.Sprintf("Cannot resolve image '%s'.", ref),
			"Check the image reference and that it was pushed.")
	}
	return pinned, err
}

func (s *Service) insertAndRead(ctx context.Context, n newRow) (*row, error) {
	return s.repo.Create(ctx, n, time.Now())
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "Invalid limit %q (1-1000).", v))
			return
		}
	}
	cursor := q.Get("cursor")
	if cursor != "" && !deploy.ValidID(cursor) {
		httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "Invalid cursor %q.", cursor))
		return
	}
	rows, err := s.repo.List(r.Context(), p.ID, q.Get("environment"), q.Get("group"), cursor, limit+1)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	out := api.DeploymentList{Deployments: []api.Deployment{}}
	for i, d := range rows {
		if i == limit {
			out.NextCursor = rows[i-1].ID
			break
		}
		out.Deployments = append(out.Deployments, s.toAPI(d))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// lookup reads the request's deployment of p.
func (s *Service) lookup(r *http.Request, p *store.Project) (*row, error) {
	id := mux.Vars(r)["id"]
	d, err := s.repo.GetByID(r.Context(), p.ID, id)
	if errors.Is(err, errNoDeployment) {
		return nil, s.notFound(p.Name, id)
	}
	return d, err
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	d, err := s.lookup(r, p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if v := r.URL.Query().Get("wait_for_change"); v != "" {
		version, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "Invalid wait_for_change %q: want the version of the deployment.", v))
			return
		}
		if d, err = s.waitForChange(r, p, d, version); err != nil {
			httpx.Err(w, r, err)
			return
		}
	}
	httpx.JSON(w, http.StatusOK, s.toAPI(d))
}

// waitForChange blocks until d's version differs from version (or the wait
// times out, or the deployment is terminal) and returns the fresh row.
func (s *Service) waitForChange(r *http.Request, p *store.Project, d *row, version int64) (*row, error) {
	ctx, cancel := context.WithTimeout(r.Context(), s.o.WaitTimeout)
	defer cancel()
	changed := make(chan struct{}, 1)
	uuid := d.UUID
	unsub := s.n.subscribe(func(e event) {
		if e.Resync || e.Deployment == uuid {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	defer unsub()
	for {
		// Re-read after subscribing so no change between the reads is lost.
		fresh, err := s.repo.Get(ctx, uuid)
		if errors.Is(err, errNoDeployment) {
			return nil, s.notFound(p.Name, d.ID)
		}
		if err != nil {
			if ctx.Err() != nil {
				return d, nil
			}
			return nil, err
		}
		d = fresh
		if d.Version != version {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, nil
		case <-server.Draining(r.Context()): // shutting down: answer now
			return d, nil
		case <-changed:
		}
	}
}

func (s *Service) setState(w http.ResponseWriter, r *http.Request) {
	p, caller, err := s.project(r, store.AccessDeploy)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	// Only who may deploy to its environment drives a deployment (a
	// staging-limited service account must not hand a production
	// deployment its own image).
	if d, err := s.lookup(r, p); err != nil {
		httpx.Err(w, r, err)
		return
	} else if err := s.mayDeployToEnv(r.Context(), caller, p, d.Environment); err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.UpdateDeploymentStateRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	to, err := deploy.Parse(string(req.State))
	if err != nil {
		httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "Unknown state %q.", req.State))
		return
	}
	switch to {
	case deploy.Building, deploy.Pushing, deploy.Pushed, deploy.Failed, deploy.Cancelling:
	default:
		httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "State %s is set by the server, not by clients.", to))
		return
	}
	ch := change{State: to, Image: req.Image}
	switch {
	case req.Message != "":
		ch.Message = str(req.Message)
	case to == deploy.Cancelling:
		ch.Message = str("Cancelled by " + identity.From(r.Context()).Subject())
	default:
		ch.Message = str(string(to))
	}
	if to == deploy.Pushed {
		if req.ImageDigest == "" && req.Image == "" {
			httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "State Pushed needs the pushed image (image and/or image_digest)."))
			return
		}
		ch.Digest = req.ImageDigest
		if err := s.checkPushed(r.Context(), p.Name, req.Image, req.ImageDigest); err != nil {
			httpx.Err(w, r, err)
			return
		}
	}
	s.mutate(w, r, p, func(d *row) (change, error) {
		if to == deploy.Pushed && ch.Image == "" && d.Image == "" && !isPinned(ch.Digest) {
			return ch, httpx.NewError(http.StatusBadRequest, "State Pushed needs the image reference the digest belongs to.")
		}
		return ch, nil
	}, http.StatusOK)
}

// checkPushed checks what a client reports as pushed: the image, and the
// digest (a bare sha256:<hex>, or a full pinned reference).
func (s *Service) checkPushed(ctx context.Context, project, image, digest string) error {
	if s.o.Images == nil {
		return nil
	}
	var refs []string
	switch {
	case isPinned(digest):
		refs = append(refs, digest)
	case digest != "" && !digestRE.MatchString(digest):
		return httpx.Errorf(http.StatusBadRequest, "Invalid image_digest %.80q: want sha256:<64 hex digits>.", digest)
	}
	if image != "" {
		refs = append(refs, image)
	}
	for _, ref := range refs {
		if err := s.o.Images.CheckPushed(ctx, project, ref); err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) {
				return httpx.NewError(http.StatusBadRequest, fmt.Sprintf("Cannot check image '%s'.", ref))
			}
			return err
		}
	}
	return nil
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func isPinned(digest string) bool {
	for i := range digest {
		if digest[i] == '@' {
			return true
		}
	}
	return false
}

// mutate applies decide's change to the request's deployment in a
// transaction (row locked), answering 409 on an invalid transition.
func (s *Service) mutate(w http.ResponseWriter, r *http.Request, p *store.Project, decide func(*row) (change, error), status int) {
	id := mux.Vars(r)["id"]
	out, err := s.repo.Mutate(r.Context(), p.ID, id, decide)
	if errors.Is(err, errNoDeployment) {
		err = s.notFound(p.Name, id)
	}
	var te *deploy.TransitionError
	if errors.As(err, &te) {
		err = httpx.NewError(http.StatusConflict, fmt.Sprintf("Deployment '%s' is %s and cannot become %s.", id, te.From, te.To))
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	httpx.JSON(w, status, s.toAPI(out))
}

func (s *Service) stop(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessDeploy)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	d, err := s.lookup(r, p)
	if err == nil {
		err = s.mayDeployToEnv(r.Context(), id, p, d.Environment)
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	s.mutate(w, r, p, func(d *row) (change, error) { return stopChange(d, id) }, http.StatusOK)
}

func (s *Service) rollback(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessDeploy)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	src, err := s.rollbackSource(r, p)
	if err == nil {
		err = s.mayDeployToEnv(r.Context(), id, p, src.Environment)
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	d, err := s.insertAndRead(r.Context(), newRow{
		ProjectID: p.ID, Environment: src.Environment, Group: src.Group, State: deploy.Pushed, Image: src.Image, ImageDigest: src.ImageDigest,
		Workload: src.Workload, RollbackOf: src.ID, CreatedBy: id.Subject(), ExpireSeconds: src.ExpireSeconds,
		Message: "Rollback to " + src.ID, Config: variables.Snapshot{From: src.UUID},
	})
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/projects/"+d.Project+"/deployments/"+d.ID)
	httpx.JSON(w, http.StatusCreated, s.toAPI(d))
}

// redeploy creates a new deployment from deployment id's image and
// workload with the project's current variables (and id's own
// --secret-env values): how a change of variables reaches a running app.
func (s *Service) redeploy(w http.ResponseWriter, r *http.Request) {
	p, id, err := s.project(r, store.AccessDeploy)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	src, err := s.lookup(r, p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if src.Image == "" && src.ImageDigest == "" {
		httpx.Err(w, r, httpx.NewError(http.StatusConflict, fmt.Sprintf("Deployment '%s' never had an image (it is %s); pick another one.", src.ID, src.State)))
		return
	}
	d, err := s.insertAndRead(r.Context(), newRow{
		ProjectID: p.ID, Environment: src.Environment, Group: src.Group, State: deploy.Pushed, Image: src.Image, ImageDigest: src.ImageDigest,
		Workload: src.Workload, CreatedBy: id.Subject(), ExpireSeconds: src.ExpireSeconds,
		Message: "Redeploy of " + src.ID + " with the current variables", Config: variables.Snapshot{Carry: src.UUID},
	})
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/projects/"+d.Project+"/deployments/"+d.ID)
	httpx.JSON(w, http.StatusCreated, s.toAPI(d))
}

// rollbackSource is the deployment to roll back to: the one named, or for
// "previous" the newest deployment of the default group that once served
// (Superseded, Stopped or Expired with a healthy_at) other than the active one.
func (s *Service) rollbackSource(r *http.Request, p *store.Project) (*row, error) {
	id := mux.Vars(r)["id"]
	var d *row
	var err error
	if id == api.RollbackPrevious {
		d, err = s.repo.LastServed(r.Context(), p.ID, api.DefaultEnvironment, api.DefaultGroup)
		if errors.Is(err, errNoDeployment) {
			return nil, httpx.NewError(http.StatusNotFound, fmt.Sprintf("Project '%s' has no earlier deployment to roll back to.", p.Name))
		}
	} else {
		d, err = s.repo.GetByID(r.Context(), p.ID, id)
		if errors.Is(err, errNoDeployment) {
			return nil, s.notFound(p.Name, id)
		}
	}
	if err != nil {
		return nil, err
	}
	if d.Image == "" && d.ImageDigest == "" {
		return nil, httpx.NewError(http.StatusConflict, fmt.Sprintf("Deployment '%s' never had an image (it is %s); pick another one.", d.ID, d.State))
	}
	return d, nil
}
