package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/images"
)

// reconcileKey reconciles one work item and returns when to look again
// (0: only on the next event).
func (c *Controller) reconcileKey(ctx context.Context, key string) (time.Duration, error) {
	kind, uuid, _ := strings.Cut(key, ":")
	if kind == "p" {
		return c.cleanupProject(ctx, uuid)
	}
	d, err := getByUUID(ctx, c.st.Pool(), uuid, false)
	if errors.Is(err, errNoDeployment) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if d.State.Terminal() || d.ProjectStatus == "deleting" {
		return 0, nil
	}
	after, err := c.reconcile(ctx, d)
	if errors.Is(err, errStale) {
		return time.Millisecond, nil // someone else moved it; look again
	}
	return after, err
}

func (c *Controller) reconcile(ctx context.Context, d *row) (time.Duration, error) {
	now := time.Now()
	switch d.State {
	case deploy.Pending, deploy.Building, deploy.Pushing:
		deadline := d.StateChangedAt.Add(c.o.BuildTimeout)
		if now.Before(deadline) {
			return time.Until(deadline), nil
		}
		return 0, c.fail(ctx, d, nil, fmt.Sprintf("No build or push progress for %s (state %s); the deploy was abandoned. Run 'rise deploy' again.",
			c.o.BuildTimeout, d.State))
	case deploy.Pushed:
		return time.Millisecond, c.save(ctx, d, change{State: deploy.Deploying, Message: str("Deploying")})
	case deploy.Deploying:
		return c.deploying(ctx, d)
	case deploy.Healthy, deploy.Unhealthy:
		return c.running(ctx, d)
	case deploy.Terminating:
		target := deploy.State(d.StopTarget)
		if target == "" {
			target = deploy.Stopped
		}
		if err := c.stop(ctx, d); err != nil {
			return 0, err
		}
		return 0, c.save(ctx, d, change{State: target, Active: boolp(false)})
	case deploy.Cancelling:
		if err := c.stop(ctx, d); err != nil {
			return 0, err
		}
		return 0, c.save(ctx, d, change{State: deploy.Cancelled, Active: boolp(false), Message: str("Cancelled")})
	}
	return 0, nil
}

// deploying starts the deployment on the runtime (idempotent per id) and
// promotes it once the runtime reports it healthy.
func (c *Controller) deploying(ctx context.Context, d *row) (time.Duration, error) {
	rt, err := c.o.runtime(ctx)
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
		h, err = c.deployRuntime(ctx, rt, d)
		if err != nil {
			return c.retryOrFail(ctx, d, "deploy", err)
		}
		// Record the handle whatever happened to the row meanwhile (a stop
		// request must find what to stop).
		if err := saveHandle(ctx, c.st.Pool(), d, h); err != nil {
			return 0, err
		}
		return c.deployPoll(d), nil
	}
	switch st.Health {
	case sdk.HealthHealthy:
		return c.o.HealthInterval, c.promote(ctx, d, st.Message)
	case sdk.HealthFailed, sdk.HealthStopped:
		return 0, c.fail(ctx, d, rt, "App failed to start: "+st.Message)
	}
	if time.Since(d.StateChangedAt) > c.o.DeployTimeout {
		return 0, c.fail(ctx, d, rt, fmt.Sprintf("App did not become healthy within %s: %s", c.o.DeployTimeout, st.Message))
	}
	if st.Message != "" && st.Message != d.Message && time.Since(d.UpdatedAt) >= c.o.DeployPoll {
		// Rate-limited: every write wakes followers and this controller.
		if err := c.save(ctx, d, change{Message: str(st.Message)}); err != nil {
			return 0, err
		}
	}
	return c.deployPoll(d), nil
}

// deployPoll is how soon to check a Deploying deployment again: often
// right after it started (most apps are up within a second), backing off to
// DeployPoll.
func (c *Controller) deployPoll(d *row) time.Duration {
	return min(max(time.Since(d.StateChangedAt)/4, 25*time.Millisecond), c.o.DeployPoll)
}

// retryOrFail fails d on permanent errors and on errors past the deploy
// timeout; other errors are retried.
func (c *Controller) retryOrFail(ctx context.Context, d *row, what string, err error) (time.Duration, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if sdk.IsPermanent(err) || time.Since(d.StateChangedAt) > c.o.DeployTimeout {
		return 0, c.fail(ctx, d, nil, fmt.Sprintf("Runtime could not %s: %v", what, err))
	}
	c.log.Warn("runtime call failed; retrying", "project", d.Project, "deployment", d.ID, "op", what, "error", err)
	return 2 * c.o.DeployPoll, nil
}

func (c *Controller) deployRuntime(ctx context.Context, rt sdk.Runtime, d *row) (_ *sdk.Deployment, err error) {
	req := &sdk.DeployRequest{
		DeploymentID: d.ID, Project: d.Project, Group: d.Group, Visibility: d.Visibility,
		Artifact: artifactOf(d.pinnedRef()), Workload: sdkWorkload(d.Workload),
	}
	if prev, err := activeOf(ctx, c.st.Pool(), d.ProjectID, d.Group, false); err != nil {
		return nil, err
	} else if prev != nil && prev.UUID != d.UUID {
		req.Previous = prev.handle()
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
	ui := logUI{c.log.With("project", d.Project, "deployment", d.ID)}
	h, err := c.rollbackRuntime(ctx, rt, d, req, ui)
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

// promote makes d its group's active deployment and supersedes the old one.
func (c *Controller) promote(ctx context.Context, d *row, msg string) error {
	return c.st.Tx(ctx, func(tx pgx.Tx) error {
		old, err := activeOf(ctx, tx, d.ProjectID, d.Group, true)
		if err != nil {
			return err
		}
		if old != nil && old.UUID != d.UUID && old.CreatedAt.After(d.CreatedAt) {
			// A newer deployment already serves: this one came too late.
			if err := apply(ctx, tx, d, change{State: deploy.Terminating, StopTarget: string(deploy.Superseded),
				Message: str("Superseded by the newer deployment " + old.ID)}); err != nil {
				return err
			}
			return syncProjectStatus(ctx, tx, d.ProjectID)
		}
		if old != nil && old.UUID != d.UUID {
			if err := apply(ctx, tx, old, change{State: deploy.Terminating, StopTarget: string(deploy.Superseded),
				Active: boolp(false), Message: str("Superseded by " + d.ID)}); err != nil {
				return err
			}
		}
		if msg == "" {
			msg = "Healthy"
		}
		if err := apply(ctx, tx, d, change{State: deploy.Healthy, Active: boolp(true), Healthy: true, Message: str(msg)}); err != nil {
			return err
		}
		return syncProjectStatus(ctx, tx, d.ProjectID)
	})
}

// running health-checks an active deployment and expires it when due.
func (c *Controller) running(ctx context.Context, d *row) (time.Duration, error) {
	if d.ExpiresAt != nil && !time.Now().Before(*d.ExpiresAt) {
		return 0, c.save(ctx, d, change{State: deploy.Terminating, StopTarget: string(deploy.Expired),
			Active: boolp(false), Message: str("Expired")})
	}
	rt, err := c.o.runtime(ctx)
	if err != nil {
		return 0, err
	}
	after := c.o.HealthInterval
	if d.ExpiresAt != nil {
		after = min(after, time.Until(*d.ExpiresAt))
	}
	h := d.handle()
	var st *sdk.Status
	if h != nil {
		st, err = rt.Status(ctx, h)
	}
	if h == nil || errors.Is(err, sdk.ErrNotFound) {
		// The runtime lost it (engine reset, removed by hand): start it again.
		h, err := c.deployRuntime(ctx, rt, d)
		if err != nil {
			return c.o.DeployPoll * 2, fmt.Errorf("redeploy %s/%s: %w", d.Project, d.ID, err)
		}
		if err := saveHandle(ctx, c.st.Pool(), d, h); err != nil {
			return 0, err
		}
		return c.o.DeployPoll, c.save(ctx, d, change{State: deploy.Unhealthy, Message: str("The runtime lost the deployment; started it again")})
	}
	if err != nil {
		c.log.Warn("health check failed", "project", d.Project, "deployment", d.ID, "error", err)
		return after, nil
	}
	if renew, ok := c.pulls.renewAt(d.UUID); c.o.PullCredentials != nil && (!ok || !time.Now().Before(renew)) {
		// The runtime may need to pull again (a restarted pod on another
		// node): hand it fresh credentials. Deploy is idempotent.
		if h, err := c.deployRuntime(ctx, rt, d); err != nil {
			c.log.Warn("renewing pull credentials failed; retrying", "project", d.Project, "deployment", d.ID, "error", err)
			after = min(after, c.o.DeployPoll*2)
		} else if err := saveHandle(ctx, c.st.Pool(), d, h); err != nil {
			return 0, err
		}
	}
	if renew, ok := c.pulls.renewAt(d.UUID); ok {
		after = min(after, max(time.Until(renew), c.o.DeployPoll))
	}
	switch st.Health {
	case sdk.HealthHealthy:
		if d.State != deploy.Healthy {
			return after, c.save(ctx, d, change{State: deploy.Healthy, Message: str(st.Message)})
		}
	case sdk.HealthFailed, sdk.HealthStopped:
		return 0, c.fail(ctx, d, rt, "App stopped working: "+st.Message)
	default:
		if d.State != deploy.Unhealthy || (d.Message != st.Message && time.Since(d.UpdatedAt) >= c.o.DeployPoll) {
			return c.o.DeployPoll, c.save(ctx, d, change{State: deploy.Unhealthy, Message: str(st.Message)})
		}
		return c.o.DeployPoll, nil
	}
	return after, nil
}

// stop removes d's runtime resources, if it has any.
func (c *Controller) stop(ctx context.Context, d *row) error {
	c.pulls.forget(d.UUID)
	rt, err := c.o.runtime(ctx)
	if err != nil {
		return err
	}
	ui := logUI{c.log.With("project", d.Project, "deployment", d.ID)}
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
func (c *Controller) fail(ctx context.Context, d *row, _ sdk.Runtime, msg string) error {
	if d.State.Running() {
		if err := c.stop(ctx, d); err != nil {
			c.log.Warn("cannot stop failed deployment", "project", d.Project, "deployment", d.ID, "error", err)
		}
	}
	c.log.Info("deployment failed", "project", d.Project, "deployment", d.ID, "reason", msg)
	return c.save(ctx, d, change{State: deploy.Failed, Active: boolp(false), Message: str(msg)})
}

// save applies ch to d and refreshes the project status, in one transaction.
func (c *Controller) save(ctx context.Context, d *row, ch change) error {
	return c.st.Tx(ctx, func(tx pgx.Tx) error {
		if err := apply(ctx, tx, d, ch); err != nil {
			return err
		}
		return syncProjectStatus(ctx, tx, d.ProjectID)
	})
}
