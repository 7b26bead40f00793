package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/riseplatform/rise/sdk"
)

// Status observes the service: Healthy once the service's rollout of this
// deployment's task definition completed with all tasks running, Stopped when
// scaled to zero or the service has moved on to another deployment.
func (r *Runtime) Status(ctx context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	var st state
	if err := d.DecodeState(&st); err != nil {
		return nil, err
	}
	svc, err := r.describeService(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, fmt.Errorf("ecs: service %s: %w", st.Service, sdk.ErrNotFound)
	}
	if aws.ToString(svc.TaskDefinition) != st.TaskDefinition {
		return &sdk.Status{Health: sdk.HealthStopped, Message: "the service now runs " + aws.ToString(svc.TaskDefinition)}, nil
	}
	if svc.DesiredCount == 0 {
		return &sdk.Status{Health: sdk.HealthStopped, Message: "scaled to 0"}, nil
	}
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.TaskDefinition) != st.TaskDefinition {
			continue
		}
		msg := fmt.Sprintf("%d/%d tasks running", dep.RunningCount, dep.DesiredCount)
		switch {
		case dep.RolloutState == types.DeploymentRolloutStateFailed:
			return &sdk.Status{Health: sdk.HealthFailed, Message: "rollout failed: " + aws.ToString(dep.RolloutStateReason)}, nil
		case dep.RolloutState == types.DeploymentRolloutStateCompleted && dep.RunningCount >= dep.DesiredCount:
			return &sdk.Status{Health: sdk.HealthHealthy, Message: msg, URLs: d.URLs}, nil
		case dep.RolloutState == types.DeploymentRolloutStateCompleted:
			return &sdk.Status{Health: sdk.HealthUnhealthy, Message: msg, URLs: d.URLs}, nil
		default:
			return &sdk.Status{Health: sdk.HealthPending, Message: "rolling out: " + msg}, nil
		}
	}
	return &sdk.Status{Health: sdk.HealthPending, Message: "waiting for the service to start its deployment"}, nil
}

// Stop scales the service to zero if it still runs this deployment; a
// deployment the service has moved on from is already stopped.
func (r *Runtime) Stop(ctx context.Context, d *sdk.Deployment, ui sdk.UI) error {
	var st state
	if err := d.DecodeState(&st); err != nil {
		return err
	}
	svc, err := r.describeService(ctx, st.Cluster, st.Service)
	if err != nil || svc == nil || aws.ToString(svc.TaskDefinition) != st.TaskDefinition || svc.DesiredCount == 0 {
		return err
	}
	step := ui.Step("Scaling service " + st.Service + " to 0")
	if _, err := r.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &st.Cluster, Service: &st.Service, DesiredCount: aws.Int32(0)}); err != nil {
		return step.Fail(fmt.Errorf("ecs: scale %s to 0: %w", st.Service, err))
	}
	step.Done()
	return nil
}

// Destroy deletes every service of project (all deployment groups).
func (r *Runtime) Destroy(ctx context.Context, project string, ui sdk.UI) error {
	base := r.serviceName(project, "")
	p := ecs.NewListServicesPaginator(r.ecs, &ecs.ListServicesInput{Cluster: &r.Cluster})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("ecs: list services of cluster %s: %w", r.Cluster, err)
		}
		for _, arn := range page.ServiceArns {
			name := arn[strings.LastIndex(arn, "/")+1:]
			if name != base && !strings.HasPrefix(name, base+"_") {
				continue
			}
			step := ui.Step("Deleting service " + name)
			_, err := r.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: &r.Cluster, Service: &name, Force: aws.Bool(true)})
			var nf *types.ServiceNotFoundException
			if err != nil && !errors.As(err, &nf) {
				return step.Fail(fmt.Errorf("ecs: delete service %s: %w", name, err))
			}
			step.Done()
		}
	}
	return nil
}

// logPoll is how often Logs polls CloudWatch Logs when following.
var logPoll = 2 * time.Second

// Logs reads the deployment's log streams (awslogs prefix = deployment id)
// from CloudWatch Logs, polling when following.
func (r *Runtime) Logs(ctx context.Context, d *sdk.Deployment, opts sdk.LogOptions, emit func(sdk.LogLine) error) error {
	if r.LogGroup == "" {
		return fmt.Errorf("ecs: set log_group to read logs: %w", sdk.ErrUnsupported)
	}
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: &r.LogGroup, LogStreamNamePrefix: aws.String(d.ID + "/")}
	if !opts.Since.IsZero() {
		in.StartTime = aws.Int64(opts.Since.UnixMilli())
	}
	seen := map[string]bool{}
	for first := true; ; first = false {
		var lines []sdk.LogLine
		p := cloudwatchlogs.NewFilterLogEventsPaginator(r.logs, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("ecs: read logs of %s: %w", d.ID, err)
			}
			for _, e := range page.Events {
				if id := aws.ToString(e.EventId); !seen[id] {
					seen[id] = true
					lines = append(lines, sdk.LogLine{Time: time.UnixMilli(aws.ToInt64(e.Timestamp)), Text: aws.ToString(e.Message)})
				}
			}
		}
		if first && opts.Tail > 0 && len(lines) > opts.Tail {
			lines = lines[len(lines)-opts.Tail:]
		}
		for _, l := range lines {
			if err := emit(l); err != nil {
				return err
			}
			in.StartTime = aws.Int64(l.Time.UnixMilli()) // later polls start here; seen drops repeats
		}
		if !opts.Follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(logPoll):
		}
	}
}
