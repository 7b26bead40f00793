package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest/testapp"
)

// RuntimeConformanceConn runs the runtime suite over any connection: an
// in-process one (RuntimeConformance), a plugin binary (LaunchBinary), or an
// adapter over rise's plugin host.
//
// The suite deploys the request of WithDeployRequest with the kit's test
// workload settings added to Workload.Env (SDKTEST_TOKEN, and
// SDKTEST_START_DELAY where it tests waiting): the deployed app must be the
// kit's test workload (package testapp; AppBinary builds it), listening on
// $PORT. Every check is a clause of the plugin contract (see Contract); its
// failures name the clause. Skip what your runtime cannot do here, with a
// reason (e.g. CheckReachable for a cloud fake that runs nothing).
func RuntimeConformanceConn(t *testing.T, conn Conn, component string, cfg any, opts ...Option) {
	t.Helper()
	s := newSuite(t, conn, sdk.KindRuntime, component, cfg, opts)
	r := &runtimeSuite{suite: s, rt: conn.Runtime(component, s.cfg), tokens: map[string]string{}, addrs: map[string][]string{}}
	r.run(t, conn)
}

// runtimeSuite is one run of the runtime suite.
type runtimeSuite struct {
	*suite
	rt sdk.RuntimeClient

	mu     sync.Mutex
	tokens map[string]string   // deployment id -> token its app answers with
	addrs  map[string][]string // deployment id -> every address ever reported

	dep            *sdk.Deployment // the main deployment
	healthyEarly   bool            // Status said Healthy before the app answered
	healthyEarlyAt time.Duration
}

// startDelay is how long the app of the main deployment waits before it
// listens: Status must not say Healthy in that time.
const startDelay = 1500 * time.Millisecond

func (r *runtimeSuite) run(t *testing.T, conn Conn) {
	s := r.suite
	s.run(t, CheckConfigDiagnostics, func(t violation) {
		s.checkConfigDiagnostics(t, func(ctx context.Context, bad []byte) error {
			_, err := conn.Runtime(s.component, bad).Deploy(ctx, r.request(newDeploymentID(), 0), nil)
			return err
		})
	})

	id := newDeploymentID()
	// Stopped when the whole suite ends: the checks after "deploy" use the
	// running deployment.
	t.Cleanup(func() {
		if r.dep != nil {
			_ = r.rt.Stop(context.Background(), r.dep, nil)
		}
	})
	ok := s.run(t, CheckDeploy, func(t violation) {
		ui := &RecordingUI{}
		start := time.Now()
		var d *sdk.Deployment
		var err error
		s.guard.do(t.T, func() { d, err = r.rt.Deploy(s.ctx(t.T), r.request(id, startDelay), ui) })
		if err != nil {
			t.Fatalf("Deploy(%s): %v", id, err)
		}
		r.note(d)
		r.dep = d
		if d.ID != id {
			t.Errorf("Deploy returned deployment id %q, want %q", d.ID, id)
		}
		if len(d.Upstreams) == 0 && len(d.URLs) == 0 {
			t.Fatalf("Deploy(%s) returned no Upstreams and no URLs: nothing can reach the app", id)
		}
		r.waitHealthy(t, d, start)
		t.Logf("upstreams %q, URLs %q; UI events: %q", d.Upstreams, d.URLs, ui.Events())
	})
	if !ok || r.dep == nil {
		t.Fatal("deploy failed; skipping the rest of the runtime suite")
	}
	_, unreachable := s.skipped(CheckReachable)

	s.run(t, CheckReachable, func(t violation) {
		for _, a := range r.addresses(r.dep.ID) {
			if _, err := r.get(t.T, a, "/", r.dep.ID); err != nil {
				t.Errorf("%s", err)
			}
		}
	})

	s.run(t, CheckDeployIdempotent, func(t violation) {
		before := r.instances(t.T, r.dep.ID)
		var again *sdk.Deployment
		var err error
		s.guard.do(t.T, func() { again, err = r.rt.Deploy(s.ctx(t.T), r.request(id, 0), nil) })
		if err != nil {
			t.Fatalf("second Deploy(%s) of a running deployment: %v", id, err)
		}
		r.note(again)
		if again.ID != id {
			t.Errorf("second Deploy returned id %q, want %q", again.ID, id)
		}
		r.waitHealthy(t, again, time.Time{})
		r.dep = again
		if unreachable {
			return
		}
		after := r.instances(t.T, r.dep.ID)
		if len(after) > len(before) {
			t.Errorf("the retried Deploy started another copy of the app: before it %d instance(s) answered (%q), after it %d (%q) through %q",
				len(before), slices.Sorted(maps.Keys(before)), len(after), slices.Sorted(maps.Keys(after)), r.addresses(id))
		}
	})

	s.run(t, CheckStateless, func(t violation) {
		fresh := r.freshConn(t)
		rt := fresh.Runtime(s.component, s.cfg)
		st, err := rt.Status(s.ctx(t.T), roundTrip(t.T, r.dep))
		if err != nil || st.Health != sdk.HealthHealthy {
			t.Fatalf("a fresh plugin process: Status(%s) = %s, %v; want healthy (keep what Status needs in the deployment state or the external system, not in memory)",
				r.dep.ID, healthOf(st), err)
		}
	})

	s.run(t, CheckStateRoundtrip, func(t violation) {
		r.waitHealthy(t, roundTrip(t.T, r.dep), time.Time{})
	})

	s.run(t, CheckCancellation, func(t violation) { r.checkCancellation(t) })

	logs := true
	s.run(t, CheckLogsTail, func(t violation) { logs = r.checkLogsTail(t, unreachable) })
	s.run(t, CheckLogsFollow, func(t violation) {
		if !logs {
			t.Skip("runtime has no logs capability")
		}
		r.checkLogsFollow(t, unreachable)
	})

	s.run(t, CheckStatusObserves, func(t violation) {
		if r.healthyEarly {
			t.Errorf("Status(%s) said healthy %s after Deploy began, while the app did not answer yet (it listens only after %s)",
				id, r.healthyEarlyAt.Round(time.Millisecond), startDelay)
		}
		if unreachable {
			t.Skipf("the app cannot be reached here (%s): cannot make it unhealthy", s.o.skips[CheckReachable])
		}
		req := r.request(id, 0)
		if req.Workload.HealthPath == "" {
			t.Log("no health path in the deploy request: not checking that Status follows it")
			return
		}
		for _, a := range r.addresses(id) {
			if _, err := r.get(t.T, a, "/sdktest/unhealthy", id); err != nil {
				t.Fatalf("make the app unhealthy: %v", err)
			}
		}
		deadline := time.Now().Add(s.o.timeout)
		for {
			var st *sdk.Status
			var err error
			s.guard.do(t.T, func() { st, err = r.rt.Status(s.ctx(t.T), r.dep) })
			if err != nil {
				t.Fatalf("Status(%s): %v", id, err)
			}
			if st.Health != sdk.HealthHealthy {
				t.Logf("Status after the health path failed: %s (%s)", st.Health, st.Message)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Status(%s) still says healthy %s after %s began answering 503", id, s.o.timeout, req.Workload.HealthPath)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	s.run(t, CheckStop, func(t violation) {
		ui := &RecordingUI{}
		var err error
		s.guard.do(t.T, func() { err = r.rt.Stop(s.ctx(t.T), r.dep, ui) })
		if err != nil {
			t.Fatalf("Stop(%s): %v", id, err)
		}
		r.waitStopped(t, r.dep)
		if !unreachable {
			r.waitGone(t, id)
		}
		s.guard.do(t.T, func() { err = r.rt.Stop(s.ctx(t.T), r.dep, nil) })
		if err != nil {
			t.Fatalf("second Stop(%s) (must be idempotent): %v", id, err)
		}
	})

	s.run(t, CheckRollback, func(t violation) { s.checkRollback(t, conn, s.component, r) })

	s.run(t, CheckDestroy, func(t violation) { r.checkDestroy(t, unreachable) })

	s.run(t, CheckNoStdout, func(t violation) { s.guard.check(t.T) })
}

// request is the suite's deploy request for id: the configured one, with the
// test workload's token (and start delay) in its environment.
func (r *runtimeSuite) request(id string, delay time.Duration) *sdk.DeployRequest {
	req := r.o.deployReq(id)
	env := maps.Clone(req.Workload.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["SDKTEST_TOKEN"] = r.token(id)
	if delay > 0 {
		env["SDKTEST_START_DELAY"] = delay.String()
	}
	req.Workload.Env = env
	return req
}

func (r *runtimeSuite) token(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tok, ok := r.tokens[id]; ok {
		return tok
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	r.tokens[id] = id + "." + hex.EncodeToString(b)
	return r.tokens[id]
}

// note records the addresses a handle reports.
func (r *runtimeSuite) note(d *sdk.Deployment) {
	if d == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range append(slices.Clone(d.Upstreams), d.URLs...) {
		if !slices.Contains(r.addrs[d.ID], a) {
			r.addrs[d.ID] = append(r.addrs[d.ID], a)
		}
	}
}

func (r *runtimeSuite) addresses(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.addrs[id])
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

// get fetches path through address a and checks that deployment id's app
// answered; it returns the answering instance.
func (r *runtimeSuite) get(t *testing.T, a, path, id string) (string, error) {
	t.Helper()
	resp, err := httpClient.Get(strings.TrimRight(a, "/") + path)
	if err != nil {
		return "", fmt.Errorf("GET %s%s: %w", a, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	want := "sdktest token=" + r.token(id) + " instance="
	body := string(b)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, want) {
		return "", fmt.Errorf("GET %s%s = %s %q; want 200 from deployment %s's app (%q…)", a, path, resp.Status, body, id, want)
	}
	return strings.TrimSpace(strings.TrimPrefix(body, want)), nil
}

// instances returns the app instances of deployment id answering through
// any address ever reported for it.
func (r *runtimeSuite) instances(t *testing.T, id string) map[string]bool {
	found := map[string]bool{}
	for _, a := range r.addresses(id) {
		for range 3 { // behind a load balancer, several instances
			if in, err := r.get(t, a, "/", id); err == nil {
				found[in] = true
			}
		}
	}
	return found
}

// waitHealthy polls Status until d is Healthy. With start set (the main
// deployment, whose app listens only after startDelay), it also notes a
// Healthy status while the app does not answer yet.
func (r *runtimeSuite) waitHealthy(t violation, d *sdk.Deployment, start time.Time) {
	t.Helper()
	deadline := time.Now().Add(r.o.timeout)
	for {
		var st *sdk.Status
		var err error
		r.guard.do(t.T, func() { st, err = r.rt.Status(r.ctx(t.T), d) })
		if err != nil {
			t.Fatalf("Status(%s): %v", d.ID, err)
		}
		if st.Health == sdk.HealthHealthy {
			if _, skip := r.skipped(CheckReachable); !start.IsZero() && !skip && time.Since(start) < startDelay {
				answered := false
				for _, a := range r.addresses(d.ID) {
					if _, err := r.get(t.T, a, "/", d.ID); err == nil {
						answered = true
					}
				}
				if !answered {
					r.healthyEarly, r.healthyEarlyAt = true, time.Since(start)
				}
			}
			return
		}
		if st.Health == sdk.HealthFailed {
			t.Fatalf("Status(%s) = failed: %s", d.ID, st.Message)
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s not healthy after %s: last status %s (%s)", d.ID, r.o.timeout, st.Health, st.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStopped polls Status until d is Stopped or ErrNotFound.
func (r *runtimeSuite) waitStopped(t violation, d *sdk.Deployment) {
	t.Helper()
	deadline := time.Now().Add(r.o.timeout)
	for {
		var st *sdk.Status
		var err error
		r.guard.do(t.T, func() { st, err = r.rt.Status(r.ctx(t.T), d) })
		switch {
		case errors.Is(err, sdk.ErrNotFound):
			return
		case err != nil:
			t.Fatalf("Status(%s) after Stop: want stopped or ErrNotFound, got the error %v", d.ID, err)
		case st.Health == sdk.HealthStopped:
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Status(%s) %s after Stop = %s (%s), want stopped or ErrNotFound", d.ID, r.o.timeout, st.Health, st.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGone waits until deployment id's app answers through none of the
// addresses ever reported for it.
func (r *runtimeSuite) waitGone(t violation, id string) {
	t.Helper()
	deadline := time.Now().Add(r.o.timeout)
	for {
		var still []string
		for _, a := range r.addresses(id) {
			if in, err := r.get(t.T, a, "/", id); err == nil {
				still = append(still, a+" (instance "+in+")")
			}
		}
		if len(still) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s's app still answers %s after it was stopped: %q", id, r.o.timeout, still)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freshConn returns a connection through a fresh plugin process.
func (r *runtimeSuite) freshConn(t violation) Conn {
	if r.o.fresh != nil {
		return r.o.fresh(t.T)
	}
	if f, ok := r.conn.(interface{ Fresh(*testing.T) Conn }); ok {
		return f.Fresh(t.T)
	}
	t.Fatalf("sdktest: this connection cannot start a fresh plugin process: use RuntimeConformance, LaunchBinary or WithFreshConn")
	return nil
}

// checkCancellation: cancelled calls return context.Canceled promptly, the
// plugin stops working on them (its SDK reports calls that outlive their
// cancellation), and a retried Deploy after a cancelled one works.
func (r *runtimeSuite) checkCancellation(t violation) {
	s := r.suite
	s.checkCancelled(t, func(ctx context.Context) error { _, err := r.rt.Status(ctx, r.dep); return err })

	late, _ := r.conn.(*Connection)
	mark := 0
	if late != nil {
		mark = late.late.len()
	}
	cid := newDeploymentID()
	ctx, cancel := context.WithCancel(context.Background())
	ui := &RecordingUI{OnEvent: func(string) { time.AfterFunc(50*time.Millisecond, cancel) }}
	timer := time.AfterFunc(200*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	var err error
	var d *sdk.Deployment
	// The app waits before it listens: a Deploy that waits for health is
	// still running when the cancellation comes.
	s.guard.do(t.T, func() { d, err = r.rt.Deploy(ctx, r.request(cid, 3*time.Second), ui) })
	r.note(d)
	if took := time.Since(start); took > s.o.timeout {
		t.Errorf("cancelled Deploy took %s to return", took)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Deploy: want context.Canceled, got %v", err)
	}
	if late != nil {
		time.Sleep(sdk.CancelGrace + 500*time.Millisecond)
		for _, c := range late.late.since(mark) {
			if c.Returned {
				t.Errorf("the plugin's %s returned success %s after the host cancelled it: check ctx and return ctx.Err()", c.Method, c.After.Round(time.Millisecond))
			} else {
				t.Errorf("the plugin's %s was still running %s after the host cancelled it: pass ctx to everything that waits", c.Method, c.After)
			}
		}
	}
	// The host retries after a cancelled or crashed Deploy: it must work.
	s.guard.do(t.T, func() { d, err = r.rt.Deploy(s.ctx(t.T), r.request(cid, 0), nil) })
	if err != nil {
		t.Fatalf("Deploy after a cancelled Deploy of the same id: %v", err)
	}
	r.note(d)
	s.guard.do(t.T, func() { err = r.rt.Stop(s.ctx(t.T), d, nil) })
	if err != nil {
		t.Fatalf("Stop(%s): %v", cid, err)
	}
	if _, skip := s.skipped(CheckReachable); !skip {
		r.waitGone(t, cid)
	}
}

// logs collects a non-following Logs call.
func (r *runtimeSuite) logs(t violation, tail int) ([]string, error) {
	var lines []string
	var err error
	r.guard.do(t.T, func() {
		err = r.rt.Logs(r.ctx(t.T), r.dep, sdk.LogOptions{Tail: tail}, func(l sdk.LogLine) error {
			lines = append(lines, l.Text)
			return nil
		})
	})
	return lines, err
}

// checkLogsTail reports false when the runtime has no logs capability.
func (r *runtimeSuite) checkLogsTail(t violation, unreachable bool) bool {
	all, err := r.logs(t, 0)
	if errors.Is(err, sdk.ErrUnsupported) {
		t.Skip("runtime has no logs capability")
		return false
	}
	if err != nil {
		t.Fatalf("Logs(%s): %v", r.dep.ID, err)
	}
	if !unreachable {
		// The app wrote its start lines; they must arrive (eventually).
		want := fmt.Sprintf("sdktest start %d", testapp.StartLines)
		deadline := time.Now().Add(r.o.timeout)
		for !slices.ContainsFunc(all, func(l string) bool { return strings.Contains(l, want) }) {
			if time.Now().After(deadline) {
				t.Fatalf("Logs(%s) lack the app's output %q after %s; got %q", r.dep.ID, want, r.o.timeout, all)
			}
			time.Sleep(200 * time.Millisecond)
			if all, err = r.logs(t, 0); err != nil {
				t.Fatalf("Logs(%s): %v", r.dep.ID, err)
			}
		}
	}
	const n = 2
	got, err := r.logs(t, n)
	if err != nil {
		t.Fatalf("Logs(%s, Tail=%d): %v", r.dep.ID, n, err)
	}
	want := all[max(0, len(all)-n):]
	if len(got) != len(want) || !slices.Equal(trimAll(got), trimAll(want)) {
		t.Errorf("Logs(%s, Tail=%d) = %q; want the last %d lines of the %d-line log: %q", r.dep.ID, n, got, n, len(all), want)
	}
	return true
}

func trimAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.TrimSpace(l)
	}
	return out
}

func (r *runtimeSuite) checkLogsFollow(t violation, unreachable bool) {
	conn, _ := r.conn.(*Connection)
	mark := 0
	if conn != nil {
		mark = conn.late.len()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan string, 1000)
	done := make(chan error, 1)
	go func() {
		done <- r.rt.Logs(ctx, r.dep, sdk.LogOptions{Follow: true, Tail: 1}, func(l sdk.LogLine) error {
			select {
			case lines <- l.Text:
			default:
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("Logs(%s, Follow) returned before it was cancelled (%v): it must keep streaming while the deployment runs", r.dep.ID, err)
	case <-time.After(500 * time.Millisecond):
	}
	if !unreachable {
		for _, a := range r.addresses(r.dep.ID)[:1] {
			if _, err := r.get(t.T, a, "/sdktest/log?n=3", r.dep.ID); err != nil {
				t.Fatalf("ask the app to log: %v", err)
			}
		}
		timeout := time.After(r.o.timeout)
	wait:
		for {
			select {
			case l := <-lines:
				if strings.Contains(l, "sdktest line 3") {
					break wait
				}
			case err := <-done:
				t.Fatalf("Logs(%s, Follow) ended (%v) before the app's new lines arrived", r.dep.ID, err)
			case <-timeout:
				t.Fatalf("Logs(%s, Follow) did not stream the line the app wrote after the call began (\"sdktest line 3\") within %s", r.dep.ID, r.o.timeout)
			}
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Logs(%s, Follow) after cancel: want nil or context.Canceled, got %v", r.dep.ID, err)
		}
	case <-time.After(r.o.timeout):
		t.Fatalf("Logs(%s, Follow) did not return %s after its ctx was cancelled", r.dep.ID, r.o.timeout)
	}
	if conn != nil {
		time.Sleep(sdk.CancelGrace + 500*time.Millisecond)
		for _, c := range conn.late.since(mark) {
			if strings.HasSuffix(c.Method, "/Logs") {
				t.Errorf("the plugin's Logs with Follow was still running %s after the host cancelled it: return when ctx is done", c.After)
			}
		}
	}
}

// checkDestroy deploys a second deployment, destroys the project, and checks
// that both deployments are gone.
func (r *runtimeSuite) checkDestroy(t violation, unreachable bool) {
	s := r.suite
	id := newDeploymentID()
	var d *sdk.Deployment
	var err error
	s.guard.do(t.T, func() { d, err = r.rt.Deploy(s.ctx(t.T), r.request(id, 0), nil) })
	if errors.Is(err, sdk.ErrUnsupported) {
		t.Skip("runtime cannot deploy here")
	}
	if err != nil {
		t.Fatalf("Deploy(%s): %v", id, err)
	}
	r.note(d)
	t.Cleanup(func() { _ = r.rt.Stop(context.Background(), d, nil) })
	r.waitHealthy(t, d, time.Time{})

	s.guard.do(t.T, func() { err = r.rt.Destroy(s.ctx(t.T), s.o.project, nil) })
	if errors.Is(err, sdk.ErrUnsupported) {
		t.Skip("runtime has no destroy capability")
	}
	if err != nil {
		t.Fatalf("Destroy(%s): %v", s.o.project, err)
	}
	for _, dep := range []*sdk.Deployment{d, r.dep} {
		deadline := time.Now().Add(s.o.timeout)
		for {
			var st *sdk.Status
			s.guard.do(t.T, func() { st, err = r.rt.Status(s.ctx(t.T), dep) })
			if errors.Is(err, sdk.ErrNotFound) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Status(%s) %s after Destroy = %s, %v; want an error wrapping sdk.ErrNotFound", dep.ID, s.o.timeout, healthOf(st), err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !unreachable {
		r.waitGone(t, id)
	}
	s.guard.do(t.T, func() { err = r.rt.Stop(s.ctx(t.T), d, nil) })
	if err != nil {
		t.Errorf("Stop(%s) after Destroy (stopping a missing deployment succeeds): %v", id, err)
	}
	s.guard.do(t.T, func() { err = r.rt.Destroy(s.ctx(t.T), s.o.project, nil) })
	if err != nil {
		t.Fatalf("second Destroy (must be idempotent): %v", err)
	}
}

func healthOf(st *sdk.Status) string {
	if st == nil {
		return "no status"
	}
	return fmt.Sprintf("%s (%s)", st.Health, st.Message)
}

// roundTrip returns d as the host hands it back: after a JSON round trip.
func roundTrip(t *testing.T, d *sdk.Deployment) *sdk.Deployment {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out sdk.Deployment
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
