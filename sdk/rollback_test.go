package sdk_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// TestRollbackOverTheWire: the request reaches the plugin intact, the
// capability is advertised, and a runtime without it answers ErrUnsupported.
func TestRollbackOverTheWire(t *testing.T) {
	ctx := context.Background()
	mem, _ := sdk.DescribeComponent(sdktest.MemoryRollbackRuntime())
	if !mem.Has(sdk.CapRollback) || !mem.Has(sdk.CapLogs) || mem.Schema == nil || len(mem.Schema.Attributes) != 2 {
		t.Fatalf("memory-rollback runtime = %+v, want memory's schema and capabilities plus rollback", mem)
	}
	if plain, _ := sdk.DescribeComponent(sdktest.MemoryRuntime()); plain.Has(sdk.CapRollback) {
		t.Fatalf("memory runtime capabilities = %v, want no rollback", plain.Capabilities)
	}
	rt := sdktest.Runtime(t, sdktest.MemoryRollbackRuntime(), map[string]any{"namespace": "wire"})
	a, err := rt.Deploy(ctx, &sdk.DeployRequest{DeploymentID: "a", Project: "wire", Group: "default"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ui := &sdktest.RecordingUI{}
	r, err := rt.Rollback(ctx, &sdk.RollbackRequest{DeploymentID: "r", Project: "wire", Group: "default", Target: a}, ui)
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	var st struct {
		RollbackOf string `json:"rollback_of"`
	}
	if err := r.DecodeState(&st); err != nil || r.ID != "r" || st.RollbackOf != "a" {
		t.Fatalf("rollback deployment = %+v (state %+v, %v)", r, st, err)
	}
	if ev := ui.Events(); len(ev) == 0 || !strings.Contains(strings.Join(ev, "\n"), "Rolling back to a") {
		t.Errorf("UI events = %q", ev)
	}
	// A target the runtime no longer has: ErrNotFound, the host's cue to Deploy.
	if err := rt.Destroy(ctx, "wire", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Rollback(ctx, &sdk.RollbackRequest{DeploymentID: "r2", Project: "wire", Target: a}, nil); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Rollback to a destroyed target: want ErrNotFound, got %v", err)
	}

	noCap := sdktest.Runtime(t, probeComponent(), nil)
	if _, err := noCap.Rollback(ctx, &sdk.RollbackRequest{DeploymentID: "r", Target: a}, nil); !errors.Is(err, sdk.ErrUnsupported) {
		t.Fatalf("Rollback on a runtime without the capability: want ErrUnsupported, got %v", err)
	}
}

func TestMemoryRollbackRuntimeConformance(t *testing.T) {
	sdktest.RuntimeConformance(t, sdktest.MemoryRollbackRuntime(), map[string]any{"healthy_after": "100ms"}, sdktest.MemorySkips(false))
}

func TestRollbackRequestAsDeploy(t *testing.T) {
	cur := &sdk.Deployment{ID: "cur"}
	rb := &sdk.RollbackRequest{DeploymentID: "new", Project: "p", Group: "g", Visibility: "private", Environment: "staging",
		Target: &sdk.Deployment{ID: "old"}, Artifact: sdk.Artifact{Repository: "r", Digest: "sha256:1"},
		Workload: sdk.Workload{Port: 80}, Current: cur}
	want := &sdk.DeployRequest{DeploymentID: "new", Project: "p", Group: "g", Visibility: "private", Environment: "staging",
		Artifact: rb.Artifact, Workload: rb.Workload, Previous: cur}
	if got := rb.DeployRequest(); !reflect.DeepEqual(got, want) {
		t.Errorf("DeployRequest() = %+v, want %+v", got, want)
	}
}

// badRollback is healthy forever but its Rollback returns the target's id
// and refuses to be retried.
type badRollback struct{ badRuntime }

var badRollbacks = map[string]bool{}

func (badRollback) Deploy(_ context.Context, req *sdk.DeployRequest, _ sdk.UI) (*sdk.Deployment, error) {
	return &sdk.Deployment{ID: req.DeploymentID, State: []byte("{}"), URLs: []string{"http://bad.invalid"}}, nil
}

func (badRollback) Rollback(_ context.Context, req *sdk.RollbackRequest, _ sdk.UI) (*sdk.Deployment, error) {
	if req.Target == nil {
		return nil, sdk.Permanent(errors.New("no target"))
	}
	if badRollbacks[req.DeploymentID] {
		return nil, errors.New("already rolled back")
	}
	badRollbacks[req.DeploymentID] = true
	return req.Target, nil
}

// TestConformanceCatchesBadRollback runs the suite in a child process
// against badRollback and checks that its rollback subtest fails.
func TestConformanceCatchesBadRollback(t *testing.T) {
	if os.Getenv("SDKTEST_BAD_ROLLBACK") == "1" {
		sdktest.RuntimeConformance(t, sdk.Component{Name: "bad", New: func() any { return &badRollback{} }}, nil,
			sdktest.WithTimeout(300*time.Millisecond), sdktest.WithoutStdoutCheck(),
			sdktest.Skip("badRollback runs no app", sdktest.CheckReachable, sdktest.CheckStatusObserves))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceCatchesBadRollback$", "-test.v")
	cmd.Env = append(os.Environ(), "SDKTEST_BAD_ROLLBACK=1")
	out, _ := cmd.CombinedOutput()
	for _, want := range []string{
		"--- FAIL: TestConformanceCatchesBadRollback/rollback",
		"Rollback returned deployment id",
		"must be idempotent",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("suite output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "--- FAIL: TestConformanceCatchesBadRollback/deploy ") {
		t.Errorf("the suite failed a runtime whose Deploy is fine:\n%s", out)
	}
}
