package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/environments"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// Service is the deployments API plus its controller, sharing one change
// listener. Mount it on /api/v1 (Routes) and run it as a controller (Run).
type Service struct {
	o    Options
	repo *repo
	envs *environments.Store
	n    *notifier
	ctrl *Controller
}

// New returns the deployments service.
func New(o Options) (*Service, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	r := newRepo(o.Store)
	r.vars = o.Variables
	n := newNotifier(r, o.Log.Named("deployments"))
	return &Service{o: o, repo: r, envs: environments.New(o.Store.Pool()), n: n, ctrl: newController(o, r, n)}, nil
}

// Name names the service in the server's controller logs.
func (s *Service) Name() string { return "deployments" }

// Run runs the change listener (every replica: it serves long polls) and
// the leader-elected controller until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.n.Run(ctx) })
	err := s.ctrl.Run(ctx)
	cancel()
	wg.Wait()
	return err
}

// DeploymentState returns the state of deployment id of project as caller
// sees it (server/registry hands out push credentials by it). Missing and
// not-yours are both ErrNoDeployment.
func (s *Service) DeploymentState(ctx context.Context, caller *identity.Identity, project, id string) (deploy.State, error) {
	p, err := s.o.Store.ProjectFor(ctx, caller, project, store.AccessDeploy)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNoDeployment
	}
	if err != nil {
		return "", err
	}
	d, err := s.repo.GetByID(ctx, p.ID, id)
	if errors.Is(err, errNoDeployment) {
		return "", ErrNoDeployment
	}
	if err != nil {
		return "", err
	}
	return d.State, nil
}

// ErrNoDeployment: no such deployment, or not the caller's.
var ErrNoDeployment = fmt.Errorf("deployment not found: %w", sdk.ErrNotFound)
