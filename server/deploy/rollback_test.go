package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
	"github.com/riseplatform/rise/server/deploy"
)

// rollbackDocker is the real Docker runtime plus the rollback capability:
// Rollback records its request and starts the target's image under the new
// id, unless refuse is set, then it answers with refuse.
type rollbackDocker struct {
	*docker.Runtime
	mu        sync.Mutex
	rollbacks []sdk.RollbackRequest
	deploys   []string
	refuse    error
}

var _ sdk.Rollbacker = (*rollbackDocker)(nil)

func (r *rollbackDocker) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	r.mu.Lock()
	r.deploys = append(r.deploys, req.DeploymentID)
	r.mu.Unlock()
	return r.Runtime.Deploy(ctx, req, ui)
}

func (r *rollbackDocker) Rollback(ctx context.Context, req *sdk.RollbackRequest, ui sdk.UI) (*sdk.Deployment, error) {
	r.mu.Lock()
	r.rollbacks = append(r.rollbacks, *req)
	refuse := r.refuse
	r.mu.Unlock()
	if refuse != nil {
		return nil, refuse
	}
	return r.Runtime.Deploy(ctx, req.DeployRequest(), ui)
}

func (r *rollbackDocker) calls() ([]sdk.RollbackRequest, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rollbacks), slices.Clone(r.deploys)
}

// runtimeState reads a deployment's stored runtime handle state.
func (e *env) runtimeState(project, id string) []byte {
	e.t.Helper()
	var st []byte
	err := e.Store.Pool().QueryRow(context.Background(), `SELECT d.runtime_state FROM deployments d
		JOIN projects p ON p.id = d.project_id WHERE p.name = $1 AND d.deployment_id = $2`, project, id).Scan(&st)
	if err != nil {
		e.t.Fatalf("runtime state of %s/%s: %v", project, id, err)
	}
	return st
}

// TestRollbackCapability: with a runtime that can roll back, a rollback
// deployment goes through Rollback (with the target's recorded handle and
// the replaced deployment as current), not Deploy, and its result serves.
// When the runtime answers ErrNotFound or ErrUnsupported the controller
// deploys instead.
func TestRollbackCapability(t *testing.T) {
	rt := &rollbackDocker{}
	e := newEnv(t, func(o *deploy.Options) {
		o.Runtime = func(context.Context) (sdk.Runtime, error) { return rt, nil }
	})
	rt.Runtime = e.rt
	ctx := context.Background()
	p := e.project("public")
	c := e.owner.Client

	d1 := e.wait(p, e.deploy(p, httpd("v1")).ID, api.StateHealthy)
	d2 := e.wait(p, e.deploy(p, httpd("v2")).ID, api.StateHealthy)
	e.wait(p, d1.ID, api.StateSuperseded)

	rb, err := c.RollbackDeployment(ctx, p, d1.ID)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	e.wait(p, rb.ID, api.StateHealthy)
	e.wait(p, d2.ID, api.StateSuperseded)
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "v1" {
		t.Fatalf("edge GET after rollback = %d %q", code, body)
	}
	rollbacks, deploys := rt.calls()
	if slices.Contains(deploys, rb.ID) {
		t.Errorf("the controller Deployed the rollback %s (deploys %v)", rb.ID, deploys)
	}
	if len(rollbacks) == 0 {
		t.Fatal("the controller never called Rollback")
	}
	req := rollbacks[0]
	if req.DeploymentID != rb.ID || req.Project != p || req.Group != "default" || req.Target == nil || req.Target.ID != d1.ID ||
		req.Current == nil || req.Current.ID != d2.ID || req.Artifact.Ref() != d1.Image || req.Workload.Port != 8080 {
		t.Errorf("Rollback request = %+v", req)
	}
	if want := e.runtimeState(p, d1.ID); !bytes.Equal(req.Target.State, want) || len(want) == 0 {
		t.Errorf("Rollback target state = %s, want the recorded %s", req.Target.State, want)
	}
	if n := len(e.containers(p)); n != 1 {
		t.Errorf("%d containers after rollback, want 1", n)
	}

	// The runtime lost the target's resources: deploy its image instead.
	rt.mu.Lock()
	rt.refuse = fmt.Errorf("target gone: %w", sdk.ErrNotFound)
	rt.mu.Unlock()
	rb2, err := c.RollbackDeployment(ctx, p, d2.ID)
	if err != nil {
		t.Fatalf("second rollback: %v", err)
	}
	e.wait(p, rb2.ID, api.StateHealthy)
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "v2" {
		t.Fatalf("edge GET after the fallback rollback = %d %q", code, body)
	}
	if rollbacks, deploys := rt.calls(); !slices.Contains(deploys, rb2.ID) || rollbacks[len(rollbacks)-1].DeploymentID != rb2.ID {
		t.Errorf("fallback: rollbacks %d, deploys %v; want Rollback tried, then Deploy of %s", len(rollbacks), deploys, rb2.ID)
	}

	// A runtime that cannot do this one in place (or lacks the capability,
	// as the plugin host answers for it): deploy too.
	rt.mu.Lock()
	rt.refuse = fmt.Errorf("runtime: %w", sdk.ErrUnsupported)
	rt.mu.Unlock()
	rb3, err := c.RollbackDeployment(ctx, p, d1.ID)
	if err != nil {
		t.Fatalf("third rollback: %v", err)
	}
	e.wait(p, rb3.ID, api.StateHealthy)
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "v1" {
		t.Fatalf("edge GET after the unsupported rollback = %d %q", code, body)
	}
	if _, deploys := rt.calls(); !slices.Contains(deploys, rb3.ID) {
		t.Errorf("unsupported: deploys %v lack %s", deploys, rb3.ID)
	}
}

// TestRollbackOverPluginProtocol drives the controller with the SDK's memory
// runtime with rollback over real gRPC: the rollback deployment's handle is the one the
// plugin's Rollback made (its state names the target).
func TestRollbackOverPluginProtocol(t *testing.T) {
	rt := sdktest.Runtime(t, sdktest.MemoryRollbackRuntime(), map[string]any{"namespace": t.Name()})
	e := newEnv(t, func(o *deploy.Options) {
		o.Runtime = func(context.Context) (sdk.Runtime, error) { return rt, nil }
	})
	p := e.project("public")
	d1 := e.wait(p, e.deploy(p, httpd("v1")).ID, api.StateHealthy)
	d2 := e.wait(p, e.deploy(p, httpd("v2")).ID, api.StateHealthy)
	rb, err := e.owner.Client.RollbackDeployment(context.Background(), p, d1.ID)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := e.wait(p, rb.ID, api.StateHealthy); !got.Active || got.RollbackOf != d1.ID {
		t.Errorf("rollback deployment = %+v", got)
	}
	e.wait(p, d2.ID, api.StateSuperseded)
	var st struct {
		RollbackOf string `json:"rollback_of"`
	}
	if err := json.Unmarshal(e.runtimeState(p, rb.ID), &st); err != nil || st.RollbackOf != d1.ID {
		t.Errorf("rollback handle state = %+v, %v; want rollback_of %s (made by Rollback)", st, err, d1.ID)
	}
	st.RollbackOf = ""
	if err := json.Unmarshal(e.runtimeState(p, d2.ID), &st); err != nil || st.RollbackOf != "" {
		t.Errorf("a plain deployment's state = %+v, %v", st, err)
	}
}
