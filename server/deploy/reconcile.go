package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/images"
	"github.com/riseplatform/rise/server/store"
)

// reconciler moves deployments through the state machine with the runtime.
// It holds configuration only: each reconcile gets the deployment row, the
// runtime and the repository, so it runs the same against PostgreSQL and a
// plugin as against an in-memory repository and runtime in unit tests.
type reconciler struct {
	o       *Options // timeouts, poll intervals, PullCredentials
	log     hclog.Logger
	pulls   *pullCredentials
	domains *handedDomains
	now     func() time.Time
}

func newReconciler(o *Options, log hclog.Logger) *reconciler {
	return &reconciler{o: o, log: log, pulls: &pullCredentials{}, domains: &handedDomains{}, now: time.Now}
}

// reconcile moves d one step and returns when to look at it again (0: only
// on the next event). An error means "retry later" (the controller backs off
// exponentially per deployment); a permanent problem is not an error but a
// Failed deployment. rt may be nil when d's state needs no runtime
// (!d.State.Running()).
func (r *reconciler) reconcile(ctx context.Context, d *row, rt sdk.Runtime, repo Repository) (time.Duration, error) {
	if d.State.Terminal() || d.ProjectStatus == store.StatusDeleting {
		return 0, nil
	}
	c := call{r, rt, repo}
	after, err := c.step(ctx, d)
	if errors.Is(err, errStale) {
		return time.Millisecond, nil // someone else moved it; look again
	}
	return after, err
}

// call is one reconcile: the reconciler with its runtime and repository.
type call struct {
	*reconciler
	rt   sdk.Runtime
	repo Repository
}

func (c call) since(t time.Time) time.Duration { return c.now().Sub(t) }

func (c call) step(ctx context.Context, d *row) (time.Duration, error) {
	switch d.State {
	case deploy.Pending, deploy.Building, deploy.Pushing:
		if wait := c.o.BuildTimeout - c.since(d.StateChangedAt); wait > 0 {
			return wait, nil
		}
		return 0, c.fail(ctx, d, fmt.Sprintf("No build or push progress for %s (state %s); the deploy was abandoned. Run 'rise deploy' again.",
			c.o.BuildTimeout, d.State))
	case deploy.Pushed:
		return time.Millisecond, c.repo.Save(ctx, d, change{State: deploy.Deploying, Message: str("Deploying")})
	case deploy.Deploying:
		return c.deploying(ctx, d)
	case deploy.Healthy, deploy.Unhealthy:
		return c.running(ctx, d)
	case deploy.Terminating:
		target := d.StopTarget
		if target == "" {
			target = deploy.Stopped
		}
		if err := c.stop(ctx, d); err != nil {
			return 0, err
		}
		return 0, c.repo.Save(ctx, d, change{State: target, Active: boolp(false)})
	case deploy.Cancelling:
		if err := c.stop(ctx, d); err != nil {
			return 0, err
		}
		return 0, c.repo.Save(ctx, d, change{State: deploy.Cancelled, Active: boolp(false), Message: str("Cancelled")})
	}
	return 0, fmt.Errorf("deployment %s/%s: no reconcile step for state %q", d.Project, d.ID, d.State)
}

// runtime is the call's runtime, or an error when none was given.
func (c call) runtime() (sdk.Runtime, error) {
	if c.rt == nil {
		return nil, errors.New("no runtime configured (add a runtime block to the server config)")
	}
	return c.rt, nil
}

// deploying starts the deployment on the runtime (idempotent per id) and
// promotes it once the runtime reports it healthy.
func (c call) deploying(ctx context.Context, d *row) (time.Duration, error) {
	rt, err := c.runtime()
	if err != nil {
		return 0, err
	}
	h := d.handle()
	var st *sdk.Status
	if h != nil {
		st, err = rt.Status(ctx, h)
		if errors.Is(err, sdk.ErrNotFound) {
			h, err = nil, nil // never started, or removed behind our back: deploy (again)
		}
		if err != nil {
			return c.retryOrFail(ctx, d, "check deployment", err)
		}
	}
	if h == nil {
		h, err = c.deployRuntime(ctx, d)
		if err != nil {
			return c.retryOrFail(ctx, d, "deploy", err)
		}
		// Record the handle whatever happened to the row meanwhile (a stop
		// request must find what to stop).
		if err := c.repo.SaveHandle(ctx, d, h); err != nil {
			return 0, err
		}
		return c.deployPoll(d), nil
	}
	switch st.Health {
	case sdk.HealthHealthy:
		return c.o.HealthInterval, c.repo.Promote(ctx, d, st.Message)
	case sdk.HealthFailed, sdk.HealthStopped:
		return 0, c.fail(ctx, d, "App failed to start: "+st.Message)
	}
	if c.since(d.StateChangedAt) > c.o.DeployTimeout {
		return 0, c.fail(ctx, d, fmt.Sprintf("App did not become healthy within %s: %s", c.o.DeployTimeout, st.Message))
	}
	if st.Message != "" && st.Message != d.Message && c.since(d.UpdatedAt) >= c.o.DeployPoll {
		// Rate-limited: every write wakes followers and this controller.
		if err := c.repo.Save(ctx, d, change{Message: str(st.Message)}); err != nil {
			return 0, err
		}
	}
	return c.deployPoll(d), nil
}

// deployPoll is how soon to check a Deploying deployment again: often
// right after it started (most apps are up within a second), backing off to
// DeployPoll.
func (c call) deployPoll(d *row) time.Duration {
	return min(max(c.since(d.StateChangedAt)/4, 25*time.Millisecond), c.o.DeployPoll)
}

// retryOrFail fails d on permanent errors and on errors past the deploy
// timeout; other errors come back to be retried with backoff.
func (c call) retryOrFail(ctx context.Context, d *row, what string, err error) (time.Duration, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if sdk.IsPermanent(err) || c.since(d.StateChangedAt) > c.o.DeployTimeout {
		return 0, c.fail(ctx, d, fmt.Sprintf("Runtime could not %s: %v", what, err))
	}
	return 0, fmt.Errorf("runtime could not %s %s/%s: %w", what, d.Project, d.ID, err)
}

func (c call) deployRuntime(ctx context.Context, d *row) (_ *sdk.Deployment, err error) {
	rt, err := c.runtime()
	if err != nil {
		return nil, err
	}
	req := &sdk.DeployRequest{
		DeploymentID: d.ID, Project: d.Project, Environment: d.Environment, Group: d.Group, Visibility: d.Visibility,
		Artifact: artifactOf(d.pinnedRef()), Workload: sdkWorkload(d.Workload),
	}
	redact, err := c.configure(ctx, d, &req.Workload)
	if err != nil {
		return nil, err
	}
	defer func() { err = redact.Err(err) }()
	if prev, err := c.repo.Active(ctx, d.ProjectID, d.Environment, d.Group); err != nil {
		return nil, err
	} else if prev != nil && prev.UUID != d.UUID {
		req.Previous = prev.handle()
	}
	if c.o.Domains != nil {
		if req.Domains, err = c.o.Domains(ctx, d.ProjectID); err != nil {
			return nil, fmt.Errorf("custom domains: %w", err)
		}
		defer func() {
			if err == nil {
				c.domains.handed(d.UUID, req.Domains)
			}
		}()
	}
	if c.o.PullCredentials != nil {
		creds, err := c.o.PullCredentials(ctx, d.Project)
		if err != nil {
			return nil, fmt.Errorf("pull credentials: %w", err)
		}
		if creds != nil && !images.SameRepository(req.Artifact.Ref(), creds.Repository) {
			creds = nil // never hand the project's credentials to another registry or repository
		}
		req.PullCredentials = creds
		defer func() {
			if err == nil {
				c.pulls.issued(d.UUID, creds)
			}
		}()
	}
	ui := logUI{c.log.With("project", d.Project, "deployment", d.ID), redact}
	h, err := c.rollbackRuntime(ctx, d, req, ui)
	if err == nil && h == nil {
		h, err = rt.Deploy(ctx, req, ui)
	}
	if err != nil {
		return nil, err
	}
	if h.ID == "" {
		h.ID = d.ID
	}
	if h.Project == "" {
		h.Project = d.Project
	}
	return h, nil
}

func sdkWorkload(w api.Workload) sdk.Workload {
	out := sdk.Workload{Port: uint32(w.Port), Replicas: uint32(w.Replicas), Env: w.Env, Command: w.Command,
		HealthPath: w.HealthPath, Resources: sdk.Resources{CPU: w.CPU, Memory: w.Memory}}
	if out.Port == 0 {
		out.Port = 8080
	}
	if out.Replicas == 0 {
		out.Replicas = 1
	}
	return out
}

// running health-checks an active deployment and expires it when due.
func (c call) running(ctx context.Context, d *row) (time.Duration, error) {
	now := c.now()
	if d.ExpiresAt != nil && !now.Before(*d.ExpiresAt) {
		return 0, c.repo.Save(ctx, d, change{State: deploy.Terminating, StopTarget: deploy.Expired,
			Active: boolp(false), Message: str("Expired")})
	}
	rt, err := c.runtime()
	if err != nil {
		return 0, err
	}
	after := c.o.HealthInterval
	if d.ExpiresAt != nil {
		after = min(after, d.ExpiresAt.Sub(now))
	}
	h := d.handle()
	var st *sdk.Status
	if h != nil {
		st, err = rt.Status(ctx, h)
	}
	if h == nil || errors.Is(err, sdk.ErrNotFound) {
		// The runtime lost it (engine reset, removed by hand): start it again.
		h, err := c.deployRuntime(ctx, d)
		if err != nil {
			return 0, fmt.Errorf("redeploy %s/%s: %w", d.Project, d.ID, err)
		}
		if err := c.repo.SaveHandle(ctx, d, h); err != nil {
			return 0, err
		}
		return c.o.DeployPoll, c.repo.Save(ctx, d, change{State: deploy.Unhealthy, Message: str("The runtime lost the deployment; started it again")})
	}
	if err != nil {
		return 0, fmt.Errorf("health check of %s/%s: %w", d.Project, d.ID, err)
	}
	domains, err := c.domainsChanged(ctx, d)
	if err != nil {
		return 0, err
	}
	if renew, ok := c.pulls.renewAt(d.UUID); domains || c.o.PullCredentials != nil && (!ok || !now.Before(renew)) {
		// The runtime may need to pull again (a restarted pod on another
		// node): hand it fresh credentials; or the project's custom
		// domains changed (domainsync.go). Deploy is idempotent.
		if h, err := c.deployRuntime(ctx, d); err != nil {
			c.log.Warn("deploying again (pull credentials, custom domains) failed; retrying", "project", d.Project, "deployment", d.ID, "error", err)
			after = min(after, c.o.DeployPoll*2)
		} else if err := c.repo.SaveHandle(ctx, d, h); err != nil {
			return 0, err
		}
	}
	if renew, ok := c.pulls.renewAt(d.UUID); ok {
		after = min(after, max(renew.Sub(now), c.o.DeployPoll))
	}
	switch st.Health {
	case sdk.HealthHealthy:
		if d.State != deploy.Healthy {
			return after, c.repo.Save(ctx, d, change{State: deploy.Healthy, Message: str(st.Message)})
		}
	case sdk.HealthFailed, sdk.HealthStopped:
		return 0, c.fail(ctx, d, "App stopped working: "+st.Message)
	default:
		if d.State != deploy.Unhealthy || (d.Message != st.Message && c.since(d.UpdatedAt) >= c.o.DeployPoll) {
			return c.o.DeployPoll, c.repo.Save(ctx, d, change{State: deploy.Unhealthy, Message: str(st.Message)})
		}
		return c.o.DeployPoll, nil
	}
	return after, nil
}

// stop removes d's runtime resources, if it has any.
func (c call) stop(ctx context.Context, d *row) error {
	c.pulls.forget(d.UUID)
	c.domains.forget(d.UUID)
	rt, err := c.runtime()
	if err != nil {
		return err
	}
	ui := logUI{log: c.log.With("project", d.Project, "deployment", d.ID)}
	h := d.handle()
	if h == nil {
		// No recorded handle: nothing ran, or a crash came between the
		// runtime's Deploy and recording its handle. Ask the runtime to stop
		// by id (idempotent runtimes find it by name); a runtime that needs
		// its state answers with a permanent error, meaning nothing to do.
		err := rt.Stop(ctx, &sdk.Deployment{ID: d.ID, Project: d.Project}, ui)
		if err != nil && !errors.Is(err, sdk.ErrNotFound) && !sdk.IsPermanent(err) {
			return fmt.Errorf("stop %s/%s: %w", d.Project, d.ID, err)
		}
		return nil
	}
	if err := rt.Stop(ctx, h, ui); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		return fmt.Errorf("stop %s/%s: %w", d.Project, d.ID, err)
	}
	return nil
}

// fail stops whatever runs (best effort) and marks d Failed with msg.
func (c call) fail(ctx context.Context, d *row, msg string) error {
	if d.State.Running() {
		if err := c.stop(ctx, d); err != nil {
			c.log.Warn("cannot stop failed deployment", "project", d.Project, "deployment", d.ID, "error", err)
		}
	}
	c.log.Info("deployment failed", "project", d.Project, "deployment", d.ID, "reason", msg)
	return c.repo.Save(ctx, d, change{State: deploy.Failed, Active: boolp(false), Message: str(msg)})
}

// retryBackoff is the wait before retry n (1, 2, ...) of a failing
// deployment: first, doubling each time, capped at limit.
func retryBackoff(n int, first, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
