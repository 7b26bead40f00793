package main

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

func rollbackReq(id string, target, current *sdk.Deployment) *sdk.RollbackRequest {
	d := deployReq(target.ID)
	return &sdk.RollbackRequest{DeploymentID: id, Project: d.Project, Group: d.Group, Visibility: d.Visibility,
		Target: target, Artifact: d.Artifact, Workload: d.Workload, Current: current}
}

func TestRollbackReusesTheTaskDefinition(t *testing.T) {
	f := newFakeAWS(t)
	r := newRuntime(t, f)
	ctx := context.Background()
	d1, err := r.Deploy(ctx, deployReq("20261126-100000"), &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := r.Deploy(ctx, deployReq("20261126-110000"), &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(ctx, d1, &testUI{}); err != nil { // superseded
		t.Fatal(err)
	}
	const td1 = "arn:aws:ecs:eu-west-1:123456789012:task-definition/rise-my-app:1"
	const td2 = "arn:aws:ecs:eu-west-1:123456789012:task-definition/rise-my-app:2"

	f.Calls()
	ui := &testUI{}
	rb, err := r.Rollback(ctx, rollbackReq("20261126-120000", d1, d2), ui)
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	wantCalls(t, f, "DescribeTaskDefinition", "DescribeServices", "UpdateService")
	up := f.last("UpdateService")
	if get(up, "taskDefinition") != td1 || get(up, "desiredCount") != 2.0 || get(up, "networkConfiguration", "awsvpcConfiguration", "subnets", 0) != "subnet-1" {
		t.Errorf("UpdateService = %v", up)
	}
	var st state
	if err := rb.DecodeState(&st); err != nil {
		t.Fatal(err)
	}
	if rb.ID != "20261126-120000" || rb.Project != "my-app" || st.TaskDefinition != td1 || st.PreviousTaskDefinition != td2 || st.Service != "rise-my-app" {
		t.Errorf("rollback deployment = %+v, state %+v", rb, st)
	}
	if !slices.Contains(ui.events, "done Rolling service rise-my-app back to "+td1+" (deployment 20261126-100000)") {
		t.Errorf("UI events = %q", ui.events)
	}
	status(t, r, rb) // rolling out
	if s := status(t, r, rb); s.Health != sdk.HealthHealthy {
		t.Errorf("Status after rollback = %s (%s)", s.Health, s.Message)
	}
	if s, _ := f.Service("rise-my-app"); s.TaskDefinition != td1 || s.DesiredCount != 2 {
		t.Errorf("service = %+v", s)
	}

	// Idempotent: a retry changes nothing in AWS.
	f.Calls()
	again, err := r.Rollback(ctx, rollbackReq("20261126-120000", d1, d2), &testUI{})
	if err != nil {
		t.Fatalf("retried Rollback: %v", err)
	}
	wantCalls(t, f, "DescribeTaskDefinition", "DescribeServices")
	if string(again.State) != string(rb.State) {
		t.Errorf("retried Rollback state %s, want %s", again.State, rb.State)
	}

	// Superseding the replaced deployment leaves the rollback running.
	if err := r.Stop(ctx, d2, &testUI{}); err != nil {
		t.Fatal(err)
	}
	if s := status(t, r, rb); s.Health != sdk.HealthHealthy {
		t.Errorf("Status after stopping the replaced deployment = %s (%s)", s.Health, s.Message)
	}
	if n := len(f.Requests("RegisterTaskDefinition")); n != 2 {
		t.Errorf("%d RegisterTaskDefinition calls, want 2 (none for the rollback)", n)
	}

	// Rolling back to what the active deployment already runs would share
	// its task definition: rise must deploy instead.
	f.Calls()
	if _, err := r.Rollback(ctx, rollbackReq("20261126-130000", d1, rb), &testUI{}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Rollback onto the active task definition: want ErrUnsupported, got %v", err)
	}
	wantCalls(t, f)
}

func TestRollbackFallsBackWhenTheTargetIsGone(t *testing.T) {
	f := newFakeAWS(t)
	r := newRuntime(t, f)
	ctx := context.Background()
	d1, err := r.Deploy(ctx, deployReq("20261126-100000"), &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := r.Deploy(ctx, deployReq("20261126-110000"), &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rollback(ctx, &sdk.RollbackRequest{DeploymentID: "x", Project: "my-app"}, &testUI{}); !sdk.IsPermanent(err) {
		t.Errorf("Rollback without a target: want a permanent error, got %v", err)
	}
	// The target ran under another cluster (config changed since).
	other := newRuntime(t, f, func(r *Runtime) { r.Cluster = "other" })
	if _, err := other.Rollback(ctx, rollbackReq("r1", d1, d2), &testUI{}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Rollback to a deployment of another cluster: want ErrNotFound, got %v", err)
	}
	// Unknown task definition.
	gone, err := sdk.NewDeployment(d1.ID, state{Cluster: "apps", Service: "rise-my-app", TaskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/rise-my-app:99"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rollback(ctx, rollbackReq("r2", gone, d2), &testUI{}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Rollback to a missing task definition: want ErrNotFound, got %v", err)
	}
	// The service was deleted.
	if err := r.Destroy(ctx, "my-app", &testUI{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rollback(ctx, rollbackReq("r3", d1, d2), &testUI{}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Rollback after the service was deleted: want ErrNotFound, got %v", err)
	}
	if n := len(f.Requests("UpdateService")); n != 1 { // d2's deploy only
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}
