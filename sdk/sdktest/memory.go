package sdktest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// MemoryRuntime is a complete runtime that keeps deployments in process
// memory. Use it to test hosts and controllers without a container engine.
// Config: namespace (optional), healthy_after (optional duration string,
// time before a deployment reports healthy).
func MemoryRuntime() sdk.Component {
	return sdk.Component{Name: "memory", Description: "in-memory runtime for tests", New: func() any { return &memRuntime{} }}
}

type memRuntime struct {
	Namespace    string `hcl:"namespace,optional"`
	HealthyAfter string `hcl:"healthy_after,optional"`

	healthyAfter time.Duration
}

var (
	_ sdk.Runtime     = (*memRuntime)(nil)
	_ sdk.Provisioner = (*memRuntime)(nil)
	_ sdk.Validator   = (*memRuntime)(nil)
	_ sdk.LogStreamer = (*memRuntime)(nil)
	_ sdk.Destroyer   = (*memRuntime)(nil)
)

type memDeployment struct {
	project  string
	deployed time.Time
	stopped  bool
}

type memState struct {
	Namespace  string `json:"namespace"`
	Key        string `json:"key"`
	RollbackOf string `json:"rollback_of,omitempty"` // set by Rollback: the target's id
}

var memStore = struct {
	sync.Mutex
	m map[string]*memDeployment
}{m: map[string]*memDeployment{}}

func (r *memRuntime) Validate() error {
	if r.HealthyAfter == "" {
		return nil
	}
	if _, err := time.ParseDuration(r.HealthyAfter); err != nil {
		return sdk.AttrError("healthy_after", fmt.Errorf("healthy_after: %w", err))
	}
	return nil
}

// Provision applies defaults; it runs after a successful Validate.
func (r *memRuntime) Provision(context.Context) error {
	if r.Namespace == "" {
		r.Namespace = "default"
	}
	if r.HealthyAfter != "" {
		r.healthyAfter, _ = time.ParseDuration(r.HealthyAfter)
	}
	return nil
}

func (r *memRuntime) key(project, id string) string { return r.Namespace + "/" + project + "/" + id }

func (r *memRuntime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if req.DeploymentID == "" {
		return nil, sdk.Permanent(errors.New("deployment id is empty"))
	}
	step := ui.Step(fmt.Sprintf("Starting %s in memory", req.DeploymentID))
	if err := ctx.Err(); err != nil {
		return nil, step.Fail(err)
	}
	d, err := r.start(req.Project, req.DeploymentID, "")
	if err != nil {
		return nil, step.Fail(err)
	}
	step.Done()
	return d, nil
}

// start records a running deployment (idempotent per id) and returns its handle.
func (r *memRuntime) start(project, id, rollbackOf string) (*sdk.Deployment, error) {
	key := r.key(project, id)
	memStore.Lock()
	if d, ok := memStore.m[key]; !ok || d.stopped {
		memStore.m[key] = &memDeployment{project: project, deployed: time.Now()}
	}
	memStore.Unlock()
	d, err := sdk.NewDeployment(id, memState{Namespace: r.Namespace, Key: key, RollbackOf: rollbackOf}, "http://"+project+".memory.invalid")
	if err != nil {
		return nil, err
	}
	d.Project = project
	return d, nil
}

func (r *memRuntime) lookup(d *sdk.Deployment) (*memDeployment, error) {
	var st memState
	if err := d.DecodeState(&st); err != nil {
		return nil, err
	}
	memStore.Lock()
	defer memStore.Unlock()
	md, ok := memStore.m[st.Key]
	if !ok {
		return nil, fmt.Errorf("deployment %s: %w", d.ID, sdk.ErrNotFound)
	}
	return md, nil
}

func (r *memRuntime) Status(_ context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	md, err := r.lookup(d)
	if err != nil {
		return nil, err
	}
	memStore.Lock()
	defer memStore.Unlock()
	switch {
	case md.stopped:
		return &sdk.Status{Health: sdk.HealthStopped, Message: "stopped"}, nil
	case time.Since(md.deployed) < r.healthyAfter:
		return &sdk.Status{Health: sdk.HealthPending, Message: "starting"}, nil
	default:
		return &sdk.Status{Health: sdk.HealthHealthy, Message: "running", URLs: d.URLs}, nil
	}
}

func (r *memRuntime) Stop(_ context.Context, d *sdk.Deployment, ui sdk.UI) error {
	md, err := r.lookup(d)
	if errors.Is(err, sdk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	step := ui.Step("Stopping " + d.ID)
	memStore.Lock()
	md.stopped = true
	memStore.Unlock()
	step.Done()
	return nil
}

func (r *memRuntime) Logs(ctx context.Context, d *sdk.Deployment, o sdk.LogOptions, emit func(sdk.LogLine) error) error {
	md, err := r.lookup(d)
	if err != nil {
		return err
	}
	if err := emit(sdk.LogLine{Time: md.deployed, Stream: sdk.Stdout, Text: "started " + d.ID}); err != nil {
		return err
	}
	if o.Follow { // nothing more is ever written: wait for the caller to leave
		<-ctx.Done()
	}
	return nil
}

// MemorySkips are the conformance checks the memory runtimes cannot pass by
// design (they run no app, and keep deployments in the plugin process's
// memory), for tests that run the suite against them.
func MemorySkips(outOfProcess bool) Option {
	checks := []Check{CheckReachable, CheckStatusObserves}
	if outOfProcess {
		checks = append(checks, CheckStateless)
	}
	return Skip("the memory runtime runs no app and keeps deployments in the plugin process's memory", checks...)
}

func (r *memRuntime) Destroy(_ context.Context, project string, ui sdk.UI) error {
	memStore.Lock()
	defer memStore.Unlock()
	for k, d := range memStore.m {
		if d.project == project && len(k) > len(r.Namespace) && k[:len(r.Namespace)+1] == r.Namespace+"/" {
			delete(memStore.m, k)
		}
	}
	ui.Logf("destroyed project %s", project)
	return nil
}

// MemoryRegistry is a registry that hands out fake, well-formed credentials
// for host = 127.0.0.1:5000 (or the configured host). It checks nothing.
func MemoryRegistry() sdk.Component {
	return sdk.Component{Name: "memory", Description: "fake registry for tests", New: func() any { return &memRegistry{} }}
}

type memRegistry struct {
	Host   string `hcl:"host,optional"`
	Prefix string `hcl:"prefix,optional"`
}

var (
	_ sdk.Registry          = (*memRegistry)(nil)
	_ sdk.RepositoryManager = (*memRegistry)(nil)
)

func (r *memRegistry) Credentials(ctx context.Context, req *sdk.CredentialsRequest) (*sdk.Credentials, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	host := r.Host
	if host == "" {
		host = "127.0.0.1:5000"
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	return &sdk.Credentials{
		Registry: host, Repository: host + "/" + r.Prefix + req.Project,
		Username: "memory", Password: fmt.Sprintf("token-%d", time.Now().UnixNano()), ExpiresAt: time.Now().Add(ttl),
	}, nil
}

func (r *memRegistry) EnsureRepository(context.Context, string) error { return nil }
func (r *memRegistry) DeleteRepository(context.Context, string) error { return nil }
