package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
	"github.com/riseplatform/rise/server/store"
)

// faultRuntime is the SDK's memory runtime with injected faults.
type faultRuntime struct {
	sdk.Runtime
	deployErr, statusErr, stopErr error
	health                        *sdk.Health // when set, Status reports it (after the real lookup)

	mu    sync.Mutex
	calls []string
}

func (f *faultRuntime) record(op string) {
	f.mu.Lock()
	f.calls = append(f.calls, op)
	f.mu.Unlock()
}

func (f *faultRuntime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	f.record("deploy")
	if f.deployErr != nil {
		return nil, f.deployErr
	}
	return f.Runtime.Deploy(ctx, req, ui)
}

func (f *faultRuntime) Status(ctx context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	f.record("status")
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	st, err := f.Runtime.Status(ctx, d)
	if err == nil && f.health != nil {
		st = &sdk.Status{Health: *f.health, Message: fmt.Sprintf("injected health %d", *f.health)}
	}
	return st, err
}

func (f *faultRuntime) Stop(ctx context.Context, d *sdk.Deployment, ui sdk.UI) error {
	f.record("stop")
	if f.stopErr != nil {
		return f.stopErr
	}
	return f.Runtime.Stop(ctx, d, ui)
}

func health(h sdk.Health) *sdk.Health { return &h }

func memoryRuntime(t *testing.T) sdk.Runtime {
	t.Helper()
	rt := sdktest.MemoryRuntime().New().(sdk.Runtime)
	if err := rt.(sdk.Provisioner).Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rt.(sdk.Validator).Validate(); err != nil {
		t.Fatal(err)
	}
	return rt
}

// fixture is one reconcile: a clock, an in-memory repository and runtime.
type fixture struct {
	t       *testing.T
	now     time.Time
	repo    *memRepo
	rt      *faultRuntime
	rec     *reconciler
	project string
	n       int
}

var projects atomic.Int64

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC),
		project: fmt.Sprintf("unit-%d", projects.Add(1))}
	clock := func() time.Time { return f.now }
	f.repo = newMemRepo(clock)
	f.rt = &faultRuntime{Runtime: memoryRuntime(t)}
	o := Options{}
	f.rec = newReconciler(&o, hclog.NewNullLogger())
	f.rec.now = clock
	o.Store = &store.Store{} // unused: defaults need a non-nil store
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	return f
}

// add stores a deployment of the fixture's project in state s, created a
// minute ago and in s for a second.
func (f *fixture) add(s deploy.State) *row {
	f.n++
	d := &row{UUID: fmt.Sprintf("uuid-%d", f.n), ProjectID: "p-" + f.project, Project: f.project, Visibility: "public",
		ProjectStatus: "running", ID: fmt.Sprintf("20261205-1100%02d", f.n), Group: "default", State: s,
		Image: "app:v1", CreatedAt: f.now.Add(-time.Minute).Add(time.Duration(f.n) * time.Second),
		StateChangedAt: f.now.Add(-time.Second), UpdatedAt: f.now.Add(-time.Second), Version: 1,
		Active: s.Active()}
	if s == deploy.Terminating {
		d.StopTarget = deploy.Superseded
	}
	f.repo.put(d)
	return d
}

// deployed starts d on the memory runtime and records its handle.
func (f *fixture) deployed(d *row) *row {
	h, err := f.rt.Runtime.Deploy(context.Background(), &sdk.DeployRequest{DeploymentID: d.ID, Project: d.Project}, logUI{log: hclog.NewNullLogger()})
	if err != nil {
		f.t.Fatal(err)
	}
	d.RuntimeState, d.RuntimeStateVersion, d.URLs = h.State, int32(h.StateVersion), h.URLs
	f.repo.put(d)
	return d
}

// lost gives d a handle the runtime does not know (removed behind our back).
func (f *fixture) lost(d *row) *row {
	h, err := sdk.NewDeployment(d.ID, map[string]string{"namespace": "default", "key": "default/gone/" + d.ID})
	if err != nil {
		f.t.Fatal(err)
	}
	d.RuntimeState, d.RuntimeStateVersion = h.State, int32(h.StateVersion)
	f.repo.put(d)
	return d
}

var (
	errEngine    = errors.New("engine hiccup")
	errPermanent = sdk.Permanent(errors.New("image platform not supported"))
	errDBDown    = fmt.Errorf("read deployment: %w", &pgConnRefused{})
)

// pgConnRefused looks like the database refusing connections.
type pgConnRefused struct{}

func (*pgConnRefused) Error() string     { return "dial tcp 127.0.0.1:5432: connect: connection refused" }
func (*pgConnRefused) SafeToRetry() bool { return true }

func TestReconcile(t *testing.T) {
	type want struct {
		state   deploy.State
		err     bool
		active  *bool
		target  deploy.State
		msg     string   // substring of the message
		calls   []string // runtime calls, in order (nil: not checked; []string{}: none)
		handle  bool     // a runtime handle is recorded
		after   time.Duration
		minWait bool // after > 0
	}
	yes, no := boolp(true), boolp(false)
	cases := []struct {
		name  string
		setup func(f *fixture) *row
		want  want
		check func(t *testing.T, f *fixture, d *row)
	}{
		// CLI-driven states wait for the CLI, then time out.
		{"pending waits", func(f *fixture) *row { return f.add(deploy.Pending) },
			want{state: deploy.Pending, calls: []string{}, minWait: true}, nil},
		{"building waits", func(f *fixture) *row { return f.add(deploy.Building) },
			want{state: deploy.Building, calls: []string{}, minWait: true}, nil},
		{"pushing timeout", func(f *fixture) *row {
			d := f.add(deploy.Pushing)
			f.now = f.now.Add(31 * time.Minute)
			return d
		}, want{state: deploy.Failed, msg: "No build or push progress", calls: []string{}}, nil},
		{"pending timeout", func(f *fixture) *row {
			d := f.add(deploy.Pending)
			f.now = f.now.Add(time.Hour)
			return d
		}, want{state: deploy.Failed, msg: "Run 'rise deploy' again", calls: []string{}}, nil},

		// The hand-off.
		{"pushed", func(f *fixture) *row { return f.add(deploy.Pushed) },
			want{state: deploy.Deploying, calls: []string{}, after: time.Millisecond}, nil},

		// Deploying.
		{"deploying starts", func(f *fixture) *row { return f.add(deploy.Deploying) },
			want{state: deploy.Deploying, calls: []string{"deploy"}, handle: true, minWait: true}, nil},
		{"deploying healthy promotes", func(f *fixture) *row { return f.deployed(f.add(deploy.Deploying)) },
			want{state: deploy.Healthy, active: yes, calls: []string{"status"}, handle: true}, nil},
		{"deploying still starting", func(f *fixture) *row {
			f.rt.health = health(sdk.HealthPending)
			return f.deployed(f.add(deploy.Deploying))
		}, want{state: deploy.Deploying, calls: []string{"status"}, minWait: true, msg: "injected"}, nil},
		{"deploying app crashed", func(f *fixture) *row {
			f.rt.health = health(sdk.HealthFailed)
			return f.deployed(f.add(deploy.Deploying))
		}, want{state: deploy.Failed, active: no, msg: "App failed to start", calls: []string{"status", "stop"}}, nil},
		{"deploying runtime error retries", func(f *fixture) *row {
			f.rt.deployErr = errEngine
			return f.add(deploy.Deploying)
		}, want{state: deploy.Deploying, err: true, calls: []string{"deploy"}}, nil},
		{"deploying status error retries", func(f *fixture) *row {
			f.rt.statusErr = errEngine
			return f.deployed(f.add(deploy.Deploying))
		}, want{state: deploy.Deploying, err: true, calls: []string{"status"}}, nil},
		{"deploying permanent error fails", func(f *fixture) *row {
			f.rt.deployErr = errPermanent
			return f.add(deploy.Deploying)
		}, want{state: deploy.Failed, msg: "image platform not supported", calls: []string{"deploy", "stop"}}, nil},
		{"deploying runtime error past timeout fails", func(f *fixture) *row {
			f.rt.deployErr = errEngine
			d := f.add(deploy.Deploying)
			f.now = f.now.Add(6 * time.Minute)
			return d
		}, want{state: deploy.Failed, msg: "Runtime could not deploy", calls: []string{"deploy", "stop"}}, nil},
		{"deploying not found redeploys", func(f *fixture) *row { return f.lost(f.add(deploy.Deploying)) },
			want{state: deploy.Deploying, calls: []string{"status", "deploy"}, handle: true, minWait: true}, nil},
		{"deploying timeout", func(f *fixture) *row {
			f.rt.health = health(sdk.HealthPending)
			d := f.deployed(f.add(deploy.Deploying))
			f.now = f.now.Add(6 * time.Minute)
			return d
		}, want{state: deploy.Failed, msg: "did not become healthy within 5m0s", calls: []string{"status", "stop"}}, nil},
		{"deploying supersedes the older active", func(f *fixture) *row {
			f.deployed(f.add(deploy.Healthy))
			return f.deployed(f.add(deploy.Deploying))
		}, want{state: deploy.Healthy, active: yes, calls: []string{"status"}}, func(t *testing.T, f *fixture, d *row) {
			old := f.repo.stored("uuid-1")
			if old.State != deploy.Terminating || old.StopTarget != deploy.Superseded || old.Active {
				t.Errorf("older deployment = %s → %s active=%v", old.State, old.StopTarget, old.Active)
			}
		}},
		{"deploying superseded by a newer active", func(f *fixture) *row {
			d := f.deployed(f.add(deploy.Deploying))
			f.deployed(f.add(deploy.Healthy)) // created later
			return d
		}, want{state: deploy.Terminating, target: deploy.Superseded, msg: "Superseded by the newer deployment", calls: []string{"status"}},
			func(t *testing.T, f *fixture, d *row) {
				if newer := f.repo.stored("uuid-2"); newer.State != deploy.Healthy || !newer.Active {
					t.Errorf("newer deployment = %s active=%v", newer.State, newer.Active)
				}
			}},
		{"deploying without runtime", func(f *fixture) *row {
			f.rt = nil
			return f.add(deploy.Deploying)
		}, want{state: deploy.Deploying, err: true}, nil},

		// Running.
		{"healthy stays", func(f *fixture) *row { return f.deployed(f.add(deploy.Healthy)) },
			want{state: deploy.Healthy, active: yes, calls: []string{"status"}, after: 10 * time.Second}, nil},
		{"unhealthy recovers", func(f *fixture) *row { return f.deployed(f.add(deploy.Unhealthy)) },
			want{state: deploy.Healthy, active: yes, calls: []string{"status"}}, nil},
		{"healthy turns unhealthy", func(f *fixture) *row {
			f.rt.health = health(sdk.HealthPending)
			return f.deployed(f.add(deploy.Healthy))
		}, want{state: deploy.Unhealthy, active: yes, calls: []string{"status"}, after: time.Second}, nil},
		{"healthy app stopped working", func(f *fixture) *row {
			f.rt.health = health(sdk.HealthStopped)
			return f.deployed(f.add(deploy.Healthy))
		}, want{state: deploy.Failed, active: no, msg: "App stopped working", calls: []string{"status", "stop"}}, nil},
		{"healthy runtime error retries", func(f *fixture) *row {
			f.rt.statusErr = errEngine
			return f.deployed(f.add(deploy.Healthy))
		}, want{state: deploy.Healthy, active: yes, err: true, calls: []string{"status"}}, nil},
		{"healthy permanent status error retries", func(f *fixture) *row {
			// A running app is not failed over a status call; it is retried.
			f.rt.statusErr = errPermanent
			return f.deployed(f.add(deploy.Healthy))
		}, want{state: deploy.Healthy, active: yes, err: true, calls: []string{"status"}}, nil},
		{"healthy not found redeploys", func(f *fixture) *row { return f.lost(f.add(deploy.Healthy)) },
			want{state: deploy.Unhealthy, active: yes, msg: "runtime lost the deployment", calls: []string{"status", "deploy"}, handle: true}, nil},
		{"healthy not found, redeploy fails", func(f *fixture) *row {
			f.rt.deployErr = errEngine
			return f.lost(f.add(deploy.Healthy))
		}, want{state: deploy.Healthy, err: true, calls: []string{"status", "deploy"}}, nil},
		{"healthy expires", func(f *fixture) *row {
			d := f.add(deploy.Healthy)
			at := f.now.Add(-time.Second)
			d.ExpiresAt = &at
			f.repo.put(d)
			return f.deployed(d)
		}, want{state: deploy.Terminating, target: deploy.Expired, active: no, calls: []string{}}, nil},
		{"healthy expiry ahead", func(f *fixture) *row {
			d := f.add(deploy.Healthy)
			at := f.now.Add(3 * time.Second)
			d.ExpiresAt = &at
			f.repo.put(d)
			return f.deployed(d)
		}, want{state: deploy.Healthy, calls: []string{"status"}, after: 3 * time.Second}, nil},

		// Stopping.
		{"terminating superseded", func(f *fixture) *row { return f.deployed(f.add(deploy.Terminating)) },
			want{state: deploy.Superseded, active: no, calls: []string{"stop"}}, nil},
		{"terminating without target stops", func(f *fixture) *row {
			d := f.add(deploy.Terminating)
			d.StopTarget = ""
			f.repo.put(d)
			return f.lost(d) // not found in the runtime: nothing to stop
		}, want{state: deploy.Stopped, calls: []string{"stop"}}, nil},
		{"terminating stop error retries", func(f *fixture) *row {
			f.rt.stopErr = errEngine
			return f.deployed(f.add(deploy.Terminating))
		}, want{state: deploy.Terminating, err: true, calls: []string{"stop"}}, nil},
		{"terminating stop not found", func(f *fixture) *row {
			f.rt.stopErr = fmt.Errorf("gone: %w", sdk.ErrNotFound)
			return f.deployed(f.add(deploy.Terminating))
		}, want{state: deploy.Superseded, calls: []string{"stop"}}, nil},
		{"cancelling", func(f *fixture) *row { return f.add(deploy.Cancelling) },
			want{state: deploy.Cancelled, msg: "Cancelled", calls: []string{"stop"}}, nil},
		{"cancelling stop error retries", func(f *fixture) *row {
			f.rt.stopErr = errEngine
			return f.deployed(f.add(deploy.Cancelling))
		}, want{state: deploy.Cancelling, err: true, calls: []string{"stop"}}, nil},
		{"cancelling without handle, permanent stop error", func(f *fixture) *row {
			f.rt.stopErr = errPermanent // a runtime that needs its state: nothing to stop
			return f.add(deploy.Cancelling)
		}, want{state: deploy.Cancelled, calls: []string{"stop"}}, nil},

		// Nothing to do.
		{"project being deleted", func(f *fixture) *row {
			d := f.add(deploy.Deploying)
			d.ProjectStatus = store.StatusDeleting
			return d
		}, want{state: deploy.Deploying, calls: []string{}}, nil},

		// The database.
		{"database down", func(f *fixture) *row {
			d := f.add(deploy.Pushed)
			f.repo.down = errDBDown
			return d
		}, want{state: deploy.Pushed, err: true, calls: []string{}}, func(t *testing.T, f *fixture, d *row) {
			// The controller pauses on this error rather than backing off.
			if !store.IsUnavailable(errDBDown) {
				t.Error("a refused database connection is not recognised as an outage")
			}
		}},
		{"stale row looks again", func(f *fixture) *row {
			d := f.add(deploy.Pushed)
			d.Version = 0 // read before someone else's change
			return d
		}, want{state: deploy.Pushed, calls: []string{}, after: time.Millisecond}, nil},
	}
	for _, s := range deploy.All {
		if s.Terminal() {
			cases = append(cases, struct {
				name  string
				setup func(f *fixture) *row
				want  want
				check func(t *testing.T, f *fixture, d *row)
			}{"terminal " + string(s), func(f *fixture) *row { return f.add(s) }, want{state: s, calls: []string{}}, nil})
		}
	}
	covered := map[deploy.State]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			d := c.setup(f)
			covered[d.State] = true
			var rt sdk.Runtime
			if f.rt != nil {
				rt = f.rt
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			after, err := f.rec.reconcile(ctx, d, rt, f.repo)
			w := c.want
			if (err != nil) != w.err {
				t.Fatalf("err = %v, want error %v", err, w.err)
			}
			f.repo.down = nil
			got := f.repo.stored(d.UUID)
			if got.State != w.state {
				t.Errorf("state = %s (%q), want %s", got.State, got.Message, w.state)
			}
			if w.active != nil && got.Active != *w.active {
				t.Errorf("active = %v", got.Active)
			}
			if w.target != "" && got.StopTarget != w.target {
				t.Errorf("stop target = %s, want %s", got.StopTarget, w.target)
			}
			if !strings.Contains(got.Message, w.msg) {
				t.Errorf("message = %q, want it to contain %q", got.Message, w.msg)
			}
			if w.handle && len(got.RuntimeState) == 0 {
				t.Error("no runtime handle recorded")
			}
			if w.calls != nil && f.rt != nil && !slices.Equal(f.rt.calls, w.calls) && !(len(w.calls) == 0 && len(f.rt.calls) == 0) {
				t.Errorf("runtime calls = %v, want %v", f.rt.calls, w.calls)
			}
			if w.after != 0 && after != w.after {
				t.Errorf("after = %v, want %v", after, w.after)
			}
			if w.minWait && after <= 0 {
				t.Errorf("after = %v, want a requeue", after)
			}
			if got.State != d.State && got.State.Terminal() && got.Active {
				t.Error("a terminal deployment is still active")
			}
			if c.check != nil {
				c.check(t, f, got)
			}
		})
	}
	t.Run("every state", func(t *testing.T) {
		for _, s := range deploy.All {
			if !covered[s] {
				t.Errorf("no case starts in %s", s)
			}
		}
	})
}

func TestRetryBackoff(t *testing.T) {
	first, limit := 2*time.Second, time.Minute
	var got []time.Duration
	for n := 1; n <= 8; n++ {
		got = append(got, retryBackoff(n, first, limit))
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute, time.Minute}
	if !slices.Equal(got, want) {
		t.Fatalf("backoff = %v, want %v", got, want)
	}
	if d := retryBackoff(1000, first, limit); d != limit {
		t.Fatalf("backoff(1000) = %v (overflow?)", d)
	}
}
