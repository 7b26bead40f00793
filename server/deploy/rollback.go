package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/riseplatform/rise/sdk"
)

// rollbackRuntime starts a rollback deployment d (rollback_of set) with the
// runtime's Rollback capability, handing it the target's recorded handle so
// the runtime can reuse what it kept (e.g. an ECS task definition). Like
// Deploy it is idempotent per deployment id. It returns (nil, nil) when the
// host should Deploy req instead: d is no rollback, the runtime lacks the
// capability (sdk.ErrUnsupported, also for this one request), the target
// never got a handle, or its runtime resources are gone (sdk.ErrNotFound).
func (c call) rollbackRuntime(ctx context.Context, d *row, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	rb, ok := c.rt.(sdk.Rollbacker)
	if !ok || d.RollbackOf == "" {
		return nil, nil
	}
	target, err := c.repo.GetByID(ctx, d.ProjectID, d.RollbackOf)
	if errors.Is(err, errNoDeployment) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rollback target %s: %w", d.RollbackOf, err)
	}
	th := target.handle()
	if th == nil {
		return nil, nil
	}
	h, err := rb.Rollback(ctx, &sdk.RollbackRequest{
		DeploymentID: d.ID, Project: d.Project, Environment: d.Environment, Group: d.Group, Visibility: d.Visibility,
		Target: th, Artifact: req.Artifact, Workload: req.Workload, PullCredentials: req.PullCredentials,
		Current: req.Previous, Domains: req.Domains,
	}, ui)
	if errors.Is(err, sdk.ErrUnsupported) || errors.Is(err, sdk.ErrNotFound) {
		c.log.Debug("runtime does not roll back in place; deploying the target's image", "project", d.Project,
			"deployment", d.ID, "target", d.RollbackOf, "reason", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.log.Info("rolled back in place", "project", d.Project, "deployment", d.ID, "target", d.RollbackOf)
	return h, nil
}
