package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	coredeploy "github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/plugins/runtime/docker"
)

func TestDeploySupersedeRollbackStop(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p := e.project("public")
	c := e.owner.Client

	d1 := e.deploy(p, httpd("v1"))
	if d1.State != api.StatePushed || d1.Group != "default" {
		t.Fatalf("created deployment = %+v", d1)
	}
	d1 = e.wait(p, d1.ID, api.StateHealthy)
	if !d1.Active || d1.URL != "https://"+p+"."+appsDomain {
		t.Fatalf("healthy deployment = %+v", d1)
	}
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "v1" {
		t.Fatalf("edge GET = %d %q", code, body)
	}
	if pr, _ := c.GetProject(ctx, p); pr == nil || pr.Status != "running" || pr.ActiveDeployment != d1.ID {
		t.Fatalf("project = %+v", pr)
	}

	// A second deployment supersedes the first; its container goes away.
	d2 := e.wait(p, e.deploy(p, httpd("v2")).ID, api.StateHealthy)
	e.wait(p, d1.ID, api.StateSuperseded)
	if n := len(e.containers(p, docker.LabelDeployment+"="+d1.ID)); n != 0 {
		t.Fatalf("superseded deployment still has %d containers", n)
	}
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "v2" {
		t.Fatalf("edge GET after redeploy = %d %q", code, body)
	}

	// Rollback to the first: a new deployment from its image and workload.
	rb, err := c.RollbackDeployment(ctx, p, d1.ID)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rb.RollbackOf != d1.ID || rb.ID == d1.ID {
		t.Fatalf("rollback deployment = %+v", rb)
	}
	e.wait(p, rb.ID, api.StateHealthy)
	e.wait(p, d2.ID, api.StateSuperseded)
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "v1" {
		t.Fatalf("edge GET after rollback = %d %q", code, body)
	}
	if n := len(e.containers(p)); n != 1 {
		t.Fatalf("%d containers after rollback, want 1", n)
	}

	// Logs of the running deployment.
	var lines []api.LogLine
	err = c.DeploymentLogs(ctx, p, rb.ID, api.LogOptions{Tail: 5}, func(l api.LogLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil || len(lines) == 0 || lines[0].Text != "app-started" || lines[0].Stream != "stdout" {
		t.Fatalf("logs = %+v, %v", lines, err)
	}

	// Followed logs stream until the client stops.
	fctx, fcancel := context.WithCancel(ctx)
	got := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- c.DeploymentLogs(fctx, p, rb.ID, api.LogOptions{Follow: true, Since: "10m"}, func(l api.LogLine) error {
			got <- l.Text
			return nil
		})
	}()
	select {
	case l := <-got:
		if l != "app-started" {
			t.Fatalf("followed log line %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no followed log line")
	}
	fcancel()
	select {
	case err := <-done:
		if err != nil && fctx.Err() == nil {
			t.Fatalf("follow: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("following logs did not stop with its context")
	}

	// List, newest first.
	l, err := c.ListDeployments(ctx, p, "", 2, "")
	if err != nil || len(l.Deployments) != 2 || l.Deployments[0].ID != rb.ID || l.NextCursor == "" {
		t.Fatalf("list = %+v, %v", l, err)
	}
	l2, err := c.ListDeployments(ctx, p, "", 2, l.NextCursor)
	if err != nil || len(l2.Deployments) != 1 || l2.Deployments[0].ID != d1.ID {
		t.Fatalf("list page 2 = %+v, %v", l2, err)
	}

	// Stop: Terminating → Stopped, nothing serves, project stopped.
	if _, err := c.StopDeployment(ctx, p, rb.ID); err != nil {
		t.Fatalf("stop: %v", err)
	}
	e.wait(p, rb.ID, api.StateStopped)
	if code, _, _ := e.get(p, "/", nil); code != 503 {
		t.Fatalf("edge GET after stop = %d, want 503", code)
	}
	eventually(t, "no containers", func() bool { return len(e.containers(p)) == 0 })
	if pr, _ := c.GetProject(ctx, p); pr == nil || pr.Status != "stopped" {
		t.Fatalf("project after stop = %+v", pr)
	}
	// Terminal deployments cannot move: 409 naming the state.
	_, err = c.UpdateDeploymentState(ctx, p, rb.ID, &api.UpdateDeploymentStateRequest{State: api.StateBuilding})
	if api.StatusOf(err) != 409 || !strings.Contains(err.Error(), "Stopped") {
		t.Fatalf("state change of a stopped deployment: %v", err)
	}
	if _, err := c.StopDeployment(ctx, p, rb.ID); api.StatusOf(err) != 409 {
		t.Fatalf("second stop: %v", err)
	}
}

func TestCLIHandoffAndCancel(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	p := e.project("public")
	c := e.owner.Client

	d, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Workload: httpd("built")})
	if err != nil || d.State != api.StatePending {
		t.Fatalf("create = %+v, %v", d, err)
	}
	if pr, _ := c.GetProject(ctx, p); pr.Status != "deploying" {
		t.Fatalf("project status = %s, want deploying", pr.Status)
	}
	for _, s := range []coredeploy.State{api.StateBuilding, api.StatePushing} {
		if d, err = c.UpdateDeploymentState(ctx, p, d.ID, &api.UpdateDeploymentStateRequest{State: s}); err != nil || d.State != s {
			t.Fatalf("set %s: %+v, %v", s, d, err)
		}
	}
	if _, err := c.UpdateDeploymentState(ctx, p, d.ID, &api.UpdateDeploymentStateRequest{State: api.StatePushed}); api.StatusOf(err) != 400 {
		t.Fatalf("Pushed without image: %v", err)
	}
	if _, err := c.UpdateDeploymentState(ctx, p, d.ID, &api.UpdateDeploymentStateRequest{State: api.StateHealthy}); api.StatusOf(err) != 400 {
		t.Fatalf("client set Healthy: %v", err)
	}
	if _, err := c.UpdateDeploymentState(ctx, p, d.ID, &api.UpdateDeploymentStateRequest{State: api.StatePushed, Image: e.image}); err != nil {
		t.Fatalf("set Pushed: %v", err)
	}
	e.wait(p, d.ID, api.StateHealthy)

	// Ctrl-C during a build: Cancelling → Cancelled; the active one stays.
	d2, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d2.ID == d.ID || !coredeploy.ValidID(d2.ID) || !coredeploy.ValidID(d.ID) {
		t.Fatalf("second id %s vs %s", d2.ID, d.ID)
	}
	if _, err := c.UpdateDeploymentState(ctx, p, d2.ID, &api.UpdateDeploymentStateRequest{State: api.StateCancelling}); err != nil {
		t.Fatal(err)
	}
	e.wait(p, d2.ID, api.StateCancelled)
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "built" {
		t.Fatalf("edge after cancel = %d %q", code, body)
	}

	// Not-yours looks like not-found; anonymous is 401.
	other := e.User(t, "other@example.com", false)
	if _, err := other.Client.GetDeployment(ctx, p, d.ID); api.StatusOf(err) != 404 {
		t.Fatalf("other user: %v", err)
	}
	if _, err := e.Anonymous().ListDeployments(ctx, p, "", 0, ""); api.StatusOf(err) != 401 {
		t.Fatalf("anonymous: %v", err)
	}
	if _, err := c.GetDeployment(ctx, p, "20200101-000000"); api.StatusOf(err) != 404 {
		t.Fatalf("missing deployment: %v", err)
	}
}

func TestCrashingAppFails(t *testing.T) {
	e := newEnv(t, nil)
	p := e.project("public")
	d := e.deploy(p, &api.Workload{Port: 8080, Command: []string{"/bin/sh", "-c", "echo missing DATABASE_URL >&2; exit 3"}})
	d = e.wait(p, d.ID, api.StateFailed)
	if !strings.Contains(d.Message, "code 3") || !strings.Contains(d.Message, "missing DATABASE_URL") {
		t.Fatalf("failure message %q", d.Message)
	}
	eventually(t, "failed container removed", func() bool { return len(e.containers(p)) == 0 })
	if pr, _ := e.owner.Client.GetProject(context.Background(), p); pr.Status != "failed" {
		t.Fatalf("project status %s, want failed", pr.Status)
	}
}
