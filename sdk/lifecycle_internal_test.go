package sdk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/riseplatform/rise/sdk/pluginpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// recorder is a runtime that records its lifecycle hooks.
type recorder struct {
	Name          string `hcl:"name,optional"`
	TokenTTL      string `hcl:"token_ttl,optional"`
	FailProvision bool   `hcl:"fail_provision,optional"`
	log           *eventLog
}

type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (l *eventLog) add(s string) { l.mu.Lock(); l.ev = append(l.ev, s); l.mu.Unlock() }
func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.ev
	l.ev = nil
	return ev
}

func (r *recorder) Validate() error {
	r.log.add("validate " + r.Name)
	if r.TokenTTL == "soon" {
		return AttrError("token_ttl", errors.New(`token_ttl "soon" is not a duration`))
	}
	return nil
}

func (r *recorder) Provision(context.Context) error {
	r.log.add("provision " + r.Name)
	if r.FailProvision {
		return errors.New("engine unreachable")
	}
	return nil
}

func (r *recorder) Cleanup() error { r.log.add("cleanup " + r.Name); return nil }

func (r *recorder) Deploy(context.Context, *DeployRequest, UI) (*Deployment, error) { return nil, nil }
func (r *recorder) Status(context.Context, *Deployment) (*Status, error)            { return nil, nil }
func (r *recorder) Stop(context.Context, *Deployment, UI) error                     { return nil }

func newRecorderInstances(t *testing.T) (*instances, *eventLog) {
	t.Helper()
	log := &eventLog{}
	in, err := newInstances(&Plugin{Name: "rec", Components: []Component{
		{Name: "rec", New: func() any { return &recorder{log: log} }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return in, log
}

func recCall(name string, extra string) *pluginpb.Call {
	return &pluginpb.Call{Component: "rec", Config: fmt.Appendf(nil, `{"name":%q%s}`, name, extra)}
}

func wantEvents(t *testing.T, log *eventLog, want ...string) {
	t.Helper()
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("hooks ran %q, want %q", got, want)
	}
}

func TestLifecycleValidateBeforeProvision(t *testing.T) {
	in, log := newRecorderInstances(t)
	ctx := context.Background()
	_, release, err := in.get(ctx, KindRuntime, recCall("a", ""))
	if err != nil {
		t.Fatal(err)
	}
	release()
	wantEvents(t, log, "validate a", "provision a")

	// Warm: no hook runs again.
	_, release, _ = in.get(ctx, KindRuntime, recCall("a", ""))
	release()
	wantEvents(t, log)

	// Invalid config: Provision never runs, the error is a permanent config error.
	_, _, err = in.get(ctx, KindRuntime, recCall("b", `,"token_ttl":"soon"`))
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("invalid config: got %v, want InvalidArgument", err)
	}
	wantEvents(t, log, "validate b")

	// Provision failing: Cleanup releases what it acquired; not cached.
	_, _, err = in.get(ctx, KindRuntime, recCall("c", `,"fail_provision":true`))
	if err == nil {
		t.Fatal("failing Provision: no error")
	}
	wantEvents(t, log, "validate c", "provision c", "cleanup c")
	_, _, _ = in.get(ctx, KindRuntime, recCall("c", `,"fail_provision":true`))
	wantEvents(t, log, "validate c", "provision c", "cleanup c")
}

func TestCleanupOnEvictionAndShutdown(t *testing.T) {
	in, log := newRecorderInstances(t)
	in.max = 1
	ctx := context.Background()
	_, releaseA, err := in.get(ctx, KindRuntime, recCall("a", ""))
	if err != nil {
		t.Fatal(err)
	}
	// b evicts a while a call on a is in flight: a is cleaned up after it.
	_, releaseB, err := in.get(ctx, KindRuntime, recCall("b", ""))
	if err != nil {
		t.Fatal(err)
	}
	wantEvents(t, log, "validate a", "provision a", "validate b", "provision b")
	releaseA()
	wantEvents(t, log, "cleanup a")
	releaseB()
	wantEvents(t, log)

	// c evicts the idle b: b is cleaned up at once.
	_, releaseC, _ := in.get(ctx, KindRuntime, recCall("c", ""))
	wantEvents(t, log, "cleanup b", "validate c", "provision c")

	// Shutdown cleans up c after its last call; later calls are not cached.
	in.close()
	wantEvents(t, log)
	releaseC()
	wantEvents(t, log, "cleanup c")
	_, release, _ := in.get(ctx, KindRuntime, recCall("d", ""))
	release()
	wantEvents(t, log, "validate d", "provision d", "cleanup d")
}

func TestValidateErrorsBecomePathDiagnostics(t *testing.T) {
	err := errors.Join(
		AttrError("token_ttl", errors.New("token_ttl is bad")),
		fmt.Errorf("context: %w", AttrError("tls.cert_file", errors.New("cert_file missing"))),
		errors.New("url is required"),
	)
	ds := diagsFromValidate(err)
	if len(ds) != 3 || !slices.Equal(ds[0].Path, []string{"token_ttl"}) || ds[0].Detail != "token_ttl is bad" ||
		!slices.Equal(ds[1].Path, []string{"tls", "cert_file"}) || ds[1].Detail != "context: cert_file missing" ||
		ds[2].Path != nil || !ds.HasErrors() {
		t.Errorf("diagnostics = %+v", ds)
	}
	if ds := diagsFromValidate(Diagnostics(nil)); ds.HasErrors() {
		t.Errorf("empty Diagnostics as error: %+v", ds)
	}
	if ds := diagsFromValidate(Diagnostics{{Severity: SeverityWarning, Summary: "deprecated"}}); ds.HasErrors() || len(ds) != 1 {
		t.Errorf("warnings only: %+v", ds)
	}
}

func TestParseComponentID(t *testing.T) {
	id, err := ParseComponentID("runtime/docker")
	if err != nil || id != (ComponentID{Kind: KindRuntime, Name: "docker"}) || id.String() != "runtime/docker" {
		t.Errorf("ParseComponentID = %v, %v", id, err)
	}
	for _, bad := range []string{"docker", "runtime/", "engine/docker"} {
		if _, err := ParseComponentID(bad); err == nil {
			t.Errorf("ParseComponentID(%q): no error", bad)
		}
	}
}
