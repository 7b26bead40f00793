package sdktest

import (
	"context"
	"errors"
	"fmt"

	"github.com/riseplatform/rise/sdk"
)

// MemoryRollbackRuntime is MemoryRuntime (same config, same deployments)
// plus the optional rollback capability: Rollback starts the new deployment
// and records the target's id in its state ({"rollback_of": "<id>"}), so
// tests can tell a rollback from a plain Deploy.
func MemoryRollbackRuntime() sdk.Component {
	return sdk.Component{Name: "memory-rollback", Description: "in-memory runtime with rollback, for tests",
		New: func() any { return &memRollbackRuntime{} }}
}

// memRollbackRuntime has memRuntime's fields (its config schema) and
// delegates to it.
type memRollbackRuntime memRuntime

var (
	_ sdk.Runtime     = (*memRollbackRuntime)(nil)
	_ sdk.Provisioner = (*memRollbackRuntime)(nil)
	_ sdk.Validator   = (*memRollbackRuntime)(nil)
	_ sdk.LogStreamer = (*memRollbackRuntime)(nil)
	_ sdk.Destroyer   = (*memRollbackRuntime)(nil)
	_ sdk.Rollbacker  = (*memRollbackRuntime)(nil)
)

func (r *memRollbackRuntime) m() *memRuntime { return (*memRuntime)(r) }

func (r *memRollbackRuntime) Provision(ctx context.Context) error { return r.m().Provision(ctx) }
func (r *memRollbackRuntime) Validate() error                     { return r.m().Validate() }

func (r *memRollbackRuntime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	return r.m().Deploy(ctx, req, ui)
}

func (r *memRollbackRuntime) Status(ctx context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	return r.m().Status(ctx, d)
}

func (r *memRollbackRuntime) Stop(ctx context.Context, d *sdk.Deployment, ui sdk.UI) error {
	return r.m().Stop(ctx, d, ui)
}

func (r *memRollbackRuntime) Logs(ctx context.Context, d *sdk.Deployment, o sdk.LogOptions, emit func(sdk.LogLine) error) error {
	return r.m().Logs(ctx, d, o, emit)
}

func (r *memRollbackRuntime) Destroy(ctx context.Context, project string, ui sdk.UI) error {
	return r.m().Destroy(ctx, project, ui)
}

// Rollback starts req.DeploymentID from what the target left behind; its
// state records the target's id (rollback_of). A target the runtime no longer
// knows is ErrNotFound, so the host falls back to Deploy.
func (r *memRollbackRuntime) Rollback(ctx context.Context, req *sdk.RollbackRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if req.DeploymentID == "" || req.Target == nil {
		return nil, sdk.Permanent(errors.New("rollback needs a deployment id and a target"))
	}
	if _, err := r.m().lookup(req.Target); err != nil {
		return nil, err
	}
	step := ui.Step(fmt.Sprintf("Rolling back to %s in memory", req.Target.ID))
	if err := ctx.Err(); err != nil {
		return nil, step.Fail(err)
	}
	d, err := r.m().start(req.Project, req.DeploymentID, req.Target.ID)
	if err != nil {
		return nil, step.Fail(err)
	}
	step.Done()
	return d, nil
}
