package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/riseplatform/rise/sdk"
)

var _ sdk.Rollbacker = (*Runtime)(nil)

// Rollback points the service back at the task definition the target
// deployment registered (kept in its state): the same image, environment and
// size as then, and no new task definition. A retry finds the service
// already on it and only makes sure it is scaled up.
//
// It answers sdk.ErrNotFound when the target's service or task definition is
// gone, and sdk.ErrUnsupported when the active deployment runs that very
// task definition (sharing it would make stopping one stop the other): in
// both cases rise deploys the target's image afresh instead.
func (r *Runtime) Rollback(ctx context.Context, req *sdk.RollbackRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if req.Target == nil {
		return nil, sdk.Permanent(errors.New("ecs: rollback without a target deployment"))
	}
	var target state
	if err := req.Target.DecodeState(&target); err != nil {
		return nil, err
	}
	st := state{Cluster: r.Cluster, Service: r.serviceName(req.Project, req.Group), TaskDefinition: target.TaskDefinition}
	if target.TaskDefinition == "" || target.Cluster != st.Cluster || target.Service != st.Service {
		return nil, fmt.Errorf("ecs: deployment %s ran elsewhere (%s/%s): %w", req.Target.ID, target.Cluster, target.Service, sdk.ErrNotFound)
	}
	if cur := taskDefinitionOf(req.Current); cur == st.TaskDefinition {
		return nil, fmt.Errorf("ecs: the active deployment %s already runs %s: %w", req.Current.ID, cur, sdk.ErrUnsupported)
	}
	if err := r.checkTaskDefinition(ctx, st.TaskDefinition); err != nil {
		return nil, err
	}
	svc, err := r.describeService(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, fmt.Errorf("ecs: service %s: %w", st.Service, sdk.ErrNotFound)
	}
	replicas := int32(max(req.Workload.Replicas, 1))
	in := &ecs.UpdateServiceInput{Cluster: &st.Cluster, Service: &st.Service, DesiredCount: &replicas}
	if running := aws.ToString(svc.TaskDefinition); running == st.TaskDefinition {
		ui.Logf("Service %s already runs %s", st.Service, st.TaskDefinition)
		st.PreviousTaskDefinition = taskDefinitionOf(req.Current)
		if svc.DesiredCount == replicas {
			return r.deployment(req.DeploymentID, req.Project, st)
		}
	} else {
		st.PreviousTaskDefinition = running
		in.TaskDefinition, in.NetworkConfiguration = &st.TaskDefinition, r.network()
	}
	step := ui.Step(fmt.Sprintf("Rolling service %s back to %s (deployment %s)", st.Service, st.TaskDefinition, req.Target.ID))
	if _, err := r.ecs.UpdateService(ctx, in); err != nil {
		return nil, step.Fail(fmt.Errorf("ecs: service %s: %w", st.Service, err))
	}
	step.Done()
	return r.deployment(req.DeploymentID, req.Project, st)
}

// checkTaskDefinition makes sure arn can still run tasks.
func (r *Runtime) checkTaskDefinition(ctx context.Context, arn string) error {
	out, err := r.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &arn})
	var ce *types.ClientException
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("ecs: task definition %s: %s: %w", arn, ce.ErrorMessage(), sdk.ErrNotFound)
	case err != nil:
		return fmt.Errorf("ecs: describe task definition %s: %w", arn, err)
	case out.TaskDefinition.Status != types.TaskDefinitionStatusActive:
		return fmt.Errorf("ecs: task definition %s is %s: %w", arn, out.TaskDefinition.Status, sdk.ErrNotFound)
	}
	return nil
}

// taskDefinitionOf returns the task definition a deployment registered or
// rolled back to, or "" when unknown.
func taskDefinitionOf(d *sdk.Deployment) string {
	var st state
	if d == nil || d.DecodeState(&st) != nil {
		return ""
	}
	return st.TaskDefinition
}
