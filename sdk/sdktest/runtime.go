package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// RuntimeConformanceConn runs the runtime suite over any connection (for
// example a plugin launched as its own binary through rise's plugin host).
//
// It checks: config errors become diagnostics; Deploy reaches Healthy;
// Deploy is idempotent per deployment id; the deployment survives a state
// round trip through JSON (as the host stores it); Stop is idempotent and
// Status after Stop is Stopped or ErrNotFound; cancelled calls return
// promptly with context.Canceled and a retried Deploy after a cancelled one
// works; optional Logs/Destroy/Rollback capabilities work or say
// ErrUnsupported (Rollback: see checkRollback); and
// the plugin never writes to stdout.
func RuntimeConformanceConn(t *testing.T, conn Conn, component string, cfg any, opts ...Option) {
	t.Helper()
	s := newSuite(t, conn, sdk.KindRuntime, component, cfg, opts)
	rt := conn.Runtime(component, s.cfg)

	s.run(t, "config_diagnostics", func(t *testing.T) {
		s.checkConfigDiagnostics(t, func(ctx context.Context, bad []byte) error {
			_, err := conn.Runtime(component, bad).Deploy(ctx, s.o.deployReq(newDeploymentID()), nil)
			return err
		})
	})

	id := newDeploymentID()
	var dep *sdk.Deployment
	// Stopped when the whole suite ends, not when the "deploy" sub-test
	// does: the sub-tests after it (deploy_idempotent, logs, ...) use the
	// running deployment, and a re-deploy of a stopped one would leave its
	// workload behind.
	t.Cleanup(func() {
		if dep != nil {
			_ = rt.Stop(context.Background(), dep, nil)
		}
	})
	ok := s.run(t, "deploy", func(t *testing.T) {
		ui := &RecordingUI{}
		var err error
		s.guard.do(t, func() { dep, err = rt.Deploy(s.ctx(t), s.o.deployReq(id), ui) })
		if err != nil {
			t.Fatalf("Deploy(%s): %v", id, err)
		}
		if dep.ID != id {
			t.Errorf("Deploy returned deployment id %q, want %q", dep.ID, id)
		}
		s.waitHealth(t, rt, dep, sdk.HealthHealthy)
		t.Logf("UI events: %q", ui.Events())
	})
	if !ok || dep == nil {
		t.Fatal("deploy failed; skipping the rest of the runtime suite")
	}

	s.run(t, "deploy_idempotent", func(t *testing.T) {
		var again *sdk.Deployment
		var err error
		s.guard.do(t, func() { again, err = rt.Deploy(s.ctx(t), s.o.deployReq(id), nil) })
		if err != nil {
			t.Fatalf("second Deploy(%s) with the same id: %v", id, err)
		}
		if again.ID != dep.ID {
			t.Errorf("second Deploy returned id %q, want %q", again.ID, dep.ID)
		}
		s.waitHealth(t, rt, again, sdk.HealthHealthy)
		dep = again
	})

	s.run(t, "state_roundtrip", func(t *testing.T) {
		b, err := json.Marshal(dep)
		if err != nil {
			t.Fatal(err)
		}
		var stored sdk.Deployment
		if err := json.Unmarshal(b, &stored); err != nil {
			t.Fatal(err)
		}
		s.waitHealth(t, rt, &stored, sdk.HealthHealthy)
	})

	s.run(t, "cancellation", func(t *testing.T) {
		s.checkCancelled(t, func(ctx context.Context) error { _, err := rt.Status(ctx, dep); return err })
		cid := newDeploymentID()
		ctx, cancel := context.WithCancel(context.Background())
		ui := &RecordingUI{OnEvent: func(string) { cancel() }}
		timer := time.AfterFunc(20*time.Millisecond, cancel)
		defer timer.Stop()
		start := time.Now()
		var err error
		s.guard.do(t, func() { _, err = rt.Deploy(ctx, s.o.deployReq(cid), ui) })
		if took := time.Since(start); took > s.o.timeout {
			t.Errorf("cancelled Deploy took %s to return", took)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Deploy: want context.Canceled, got %v", err)
		}
		// The host retries after a cancelled or crashed Deploy: it must work.
		var d *sdk.Deployment
		s.guard.do(t, func() { d, err = rt.Deploy(s.ctx(t), s.o.deployReq(cid), nil) })
		if err != nil {
			t.Fatalf("Deploy after a cancelled Deploy of the same id: %v", err)
		}
		s.guard.do(t, func() { err = rt.Stop(s.ctx(t), d, nil) })
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	})

	s.run(t, "logs", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), s.o.timeout)
		defer cancel()
		var err error
		s.guard.do(t, func() {
			err = rt.Logs(ctx, dep, sdk.LogOptions{Tail: 10}, func(sdk.LogLine) error { return nil })
		})
		if errors.Is(err, sdk.ErrUnsupported) {
			t.Skip("runtime has no logs capability")
		}
		if err != nil {
			t.Fatalf("Logs: %v", err)
		}
	})

	s.run(t, "stop", func(t *testing.T) {
		ui := &RecordingUI{}
		var err error
		s.guard.do(t, func() { err = rt.Stop(s.ctx(t), dep, ui) })
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
		s.waitStopped(t, rt, dep)
		s.guard.do(t, func() { err = rt.Stop(s.ctx(t), dep, nil) })
		if err != nil {
			t.Fatalf("second Stop (must be idempotent): %v", err)
		}
	})

	s.run(t, "rollback", func(t *testing.T) { s.checkRollback(t, conn, component, rt) })

	s.run(t, "destroy", func(t *testing.T) {
		var err error
		s.guard.do(t, func() { err = rt.Destroy(s.ctx(t), s.o.project, nil) })
		if errors.Is(err, sdk.ErrUnsupported) {
			t.Skip("runtime has no destroy capability")
		}
		if err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		s.guard.do(t, func() { err = rt.Destroy(s.ctx(t), s.o.project, nil) })
		if err != nil {
			t.Fatalf("second Destroy (must be idempotent): %v", err)
		}
	})

	s.run(t, "no_stdout", s.guard.check)
}

func (s *suite) waitHealth(t *testing.T, rt sdk.Runtime, d *sdk.Deployment, want sdk.Health) {
	t.Helper()
	deadline := time.Now().Add(s.o.timeout)
	var last *sdk.Status
	for {
		var st *sdk.Status
		var err error
		s.guard.do(t, func() { st, err = rt.Status(s.ctx(t), d) })
		if err != nil {
			t.Fatalf("Status(%s): %v", d.ID, err)
		}
		if st.Health == want {
			return
		}
		if st.Health == sdk.HealthFailed {
			t.Fatalf("Status(%s) = failed: %s", d.ID, st.Message)
		}
		last = st
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s not %s after %s: last status %s (%s)", d.ID, want, s.o.timeout, last.Health, last.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *suite) waitStopped(t *testing.T, rt sdk.Runtime, d *sdk.Deployment) {
	t.Helper()
	deadline := time.Now().Add(s.o.timeout)
	for {
		var st *sdk.Status
		var err error
		s.guard.do(t, func() { st, err = rt.Status(s.ctx(t), d) })
		switch {
		case errors.Is(err, sdk.ErrNotFound):
			return
		case err != nil:
			t.Fatalf("Status after Stop: want stopped or ErrNotFound, got error %v", err)
		case st.Health == sdk.HealthStopped:
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Status after Stop = %s (%s), want stopped or ErrNotFound", st.Health, st.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
