package sdktest

import (
	"context"
	"errors"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// infoer is implemented by connections that can describe the plugin
// (*sdk.Client does).
type infoer interface {
	Info(ctx context.Context) (*sdk.PluginInfo, error)
}

// checkRollback runs when the runtime has the rollback capability. It plays
// what the host does: deploy A, deploy B replacing A (and stop A, as
// superseding does), then roll back to A under a new id R. R must become
// Healthy, a retried Rollback of R must succeed with the same id, stopping B
// afterwards (superseded by R) must leave R healthy, and Stop(R) must stop it.
func (s *suite) checkRollback(t violation, conn Conn, component string, r *runtimeSuite) {
	rt := r.rt
	if c, ok := conn.(infoer); ok {
		info, err := c.Info(s.ctx(t.T))
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		for _, ci := range info.Components {
			if ci.Kind == sdk.KindRuntime && ci.Name == component && !ci.Has(sdk.CapRollback) {
				t.Skip("runtime does not advertise the rollback capability")
			}
		}
	}
	// A rollback without a target cannot succeed: permanent error, or
	// ErrUnsupported when the runtime lacks the capability.
	var err error
	s.guard.do(t.T, func() {
		_, err = rt.Rollback(s.ctx(t.T), &sdk.RollbackRequest{DeploymentID: newDeploymentID(), Project: s.o.project, Group: "default"}, nil)
	})
	if errors.Is(err, sdk.ErrUnsupported) {
		t.Skip("runtime has no rollback capability")
	}
	if err == nil || !sdk.IsPermanent(err) {
		t.Fatalf("Rollback without a target: want a permanent error, got %v", err)
	}

	deploy := func(req *sdk.DeployRequest) *sdk.Deployment {
		t.Helper()
		var d *sdk.Deployment
		var err error
		s.guard.do(t.T, func() { d, err = rt.Deploy(s.ctx(t.T), req, nil) })
		if err != nil {
			t.Fatalf("Deploy(%s): %v", req.DeploymentID, err)
		}
		t.Cleanup(func() { _ = rt.Stop(context.Background(), d, nil) })
		r.note(d)
		r.waitHealthy(t, d, time.Time{})
		return d
	}
	stop := func(d *sdk.Deployment) {
		t.Helper()
		var err error
		s.guard.do(t.T, func() { err = rt.Stop(s.ctx(t.T), d, nil) })
		if err != nil {
			t.Fatalf("Stop(%s): %v", d.ID, err)
		}
	}
	aReq := r.request(newDeploymentID(), 0)
	a := deploy(aReq)
	bReq := r.request(newDeploymentID(), 0)
	bReq.Previous = a
	b := deploy(bReq)
	stop(a)

	req := &sdk.RollbackRequest{
		DeploymentID: newDeploymentID(), Project: aReq.Project, Group: aReq.Group, Visibility: aReq.Visibility,
		Target: roundTrip(t.T, a), Artifact: aReq.Artifact, Workload: aReq.Workload, PullCredentials: aReq.PullCredentials,
		Current: roundTrip(t.T, b),
	}
	var rb *sdk.Deployment
	ui := &RecordingUI{}
	s.guard.do(t.T, func() { rb, err = rt.Rollback(s.ctx(t.T), req, ui) })
	if err != nil {
		t.Fatalf("Rollback(%s to %s): %v", req.DeploymentID, a.ID, err)
	}
	r.note(rb)
	t.Cleanup(func() { _ = rt.Stop(context.Background(), rb, nil) })
	if rb.ID != req.DeploymentID {
		t.Errorf("Rollback returned deployment id %q, want %q", rb.ID, req.DeploymentID)
	}
	r.waitHealthy(t, rb, time.Time{})
	t.Logf("UI events: %q", ui.Events())

	var again *sdk.Deployment
	s.guard.do(t.T, func() { again, err = rt.Rollback(s.ctx(t.T), req, nil) })
	if err != nil {
		t.Fatalf("second Rollback(%s) with the same id (must be idempotent): %v", req.DeploymentID, err)
	}
	if again.ID != rb.ID {
		t.Errorf("second Rollback returned id %q, want %q", again.ID, rb.ID)
	}
	r.waitHealthy(t, roundTrip(t.T, again), time.Time{})

	// The host supersedes B once R is healthy: that must not stop R.
	stop(b)
	var st *sdk.Status
	s.guard.do(t.T, func() { st, err = rt.Status(s.ctx(t.T), again) })
	if err != nil || st.Health != sdk.HealthHealthy {
		t.Fatalf("Status(%s) after stopping the replaced deployment %s = %+v, %v; want healthy", again.ID, b.ID, st, err)
	}

	stop(again)
	r.waitStopped(t, again)
}
