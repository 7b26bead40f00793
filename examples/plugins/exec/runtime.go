package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// Runtime runs each deployment as a process on this machine. Its exported
// hcl fields are its configuration schema.
type Runtime struct {
	// WorkDir holds one directory per deployment (state, log). Default:
	// $TMPDIR/rise-exec.
	WorkDir string `hcl:"work_dir,optional"`
	// HealthTimeout bounds the wait for a new deployment to become healthy.
	HealthTimeout string `hcl:"health_timeout,optional"`
	// Env is added to every workload's environment.
	Env map[string]string `hcl:"env,optional"`

	healthTimeout time.Duration
}

// Interface guards: the kind, and the optional capabilities.
var (
	_ sdk.Runtime     = (*Runtime)(nil)
	_ sdk.Provisioner = (*Runtime)(nil)
	_ sdk.Validator   = (*Runtime)(nil)
	_ sdk.LogStreamer = (*Runtime)(nil)
	_ sdk.Destroyer   = (*Runtime)(nil)
)

// state is what the host stores for a deployment and hands back to us.
type state struct {
	Dir  string `json:"dir"`
	PID  int    `json:"pid"`
	Port int    `json:"port"`
}

const stateVersion = 1

// Validate checks the config before Provision (unset attributes are still
// empty). Errors wrapped with sdk.AttrError are shown at the attribute's
// line in server.hcl.
func (r *Runtime) Validate() error {
	var errs []error
	if r.HealthTimeout != "" {
		if d, err := time.ParseDuration(r.HealthTimeout); err != nil || d <= 0 {
			errs = append(errs, sdk.AttrError("health_timeout", fmt.Errorf("health_timeout must be a positive duration like \"30s\", got %q", r.HealthTimeout)))
		}
	}
	if r.WorkDir != "" && !filepath.IsAbs(r.WorkDir) {
		errs = append(errs, sdk.AttrError("work_dir", fmt.Errorf("work_dir must be an absolute path, got %q", r.WorkDir)))
	}
	return errors.Join(errs...)
}

// Provision fills in defaults once the config is valid.
func (r *Runtime) Provision(context.Context) error {
	if r.WorkDir == "" {
		r.WorkDir = filepath.Join(os.TempDir(), "rise-exec")
	}
	if r.HealthTimeout == "" {
		r.HealthTimeout = "30s"
	}
	r.healthTimeout, _ = time.ParseDuration(r.HealthTimeout)
	return nil
}

var safeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

func (r *Runtime) dir(project, id string) (string, error) {
	if !safeName.MatchString(project) || !safeName.MatchString(id) {
		return "", sdk.Permanent(fmt.Errorf("invalid project %q or deployment id %q", project, id))
	}
	return filepath.Join(r.WorkDir, project, id), nil
}

// Deploy starts the workload's command, or finds it already running for
// this deployment id (Deploy is idempotent), and waits until it is healthy.
func (r *Runtime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if len(req.Workload.Command) == 0 {
		return nil, sdk.Permanent(errors.New("the exec runtime runs workload.command, and none is set"))
	}
	dir, err := r.dir(req.Project, req.DeploymentID)
	if err != nil {
		return nil, err
	}
	st, started, err := r.ensureStarted(dir, req)
	if err != nil {
		return nil, err
	}
	if started {
		ui.Step(fmt.Sprintf("Started %s", req.Workload.Command[0])).Done()
	} else {
		ui.Logf("deployment %s is already running (pid %d)", req.DeploymentID, st.PID)
	}
	step := ui.Step(fmt.Sprintf("Waiting for http://127.0.0.1:%d%s", st.Port, req.Workload.HealthPath))
	if err := waitHealthy(ctx, st, req.Workload.HealthPath, r.healthTimeout); err != nil {
		return nil, step.Fail(err)
	}
	step.Done()
	d, err := sdk.NewDeployment(req.DeploymentID, stateWithHealth{state: st, HealthPath: req.Workload.HealthPath})
	if err != nil {
		return nil, err
	}
	d.Project = req.Project
	d.StateVersion = stateVersion
	d.Upstreams = []string{fmt.Sprintf("http://127.0.0.1:%d", st.Port)}
	return d, nil
}

// stateWithHealth is the deployment state: where the process runs and how
// to probe it.
type stateWithHealth struct {
	state
	HealthPath string `json:"health_path,omitempty"`
}

func decode(d *sdk.Deployment) (stateWithHealth, error) {
	var s stateWithHealth
	if err := d.DecodeState(&s); err != nil {
		return s, err
	}
	if d.StateVersion > stateVersion {
		return s, sdk.Permanent(fmt.Errorf("deployment %s has state version %d; this plugin understands up to %d", d.ID, d.StateVersion, stateVersion))
	}
	return s, nil
}

// Status observes the process: running and answering is healthy.
func (r *Runtime) Status(ctx context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	s, err := decode(d)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("deployment %s: %w", d.ID, sdk.ErrNotFound)
	}
	if stopped(s.Dir) {
		return &sdk.Status{Health: sdk.HealthStopped, Message: "stopped"}, nil
	}
	if !alive(s.PID) {
		return &sdk.Status{Health: sdk.HealthFailed, Message: fmt.Sprintf("process %d exited; see %s", s.PID, logPath(s.Dir))}, nil
	}
	if err := probe(ctx, s.Port, s.HealthPath); err != nil {
		return &sdk.Status{Health: sdk.HealthUnhealthy, Message: err.Error()}, nil
	}
	return &sdk.Status{Health: sdk.HealthHealthy, Message: fmt.Sprintf("pid %d on port %d", s.PID, s.Port)}, nil
}

// Stop terminates the process. Stopping a stopped or unknown deployment
// succeeds.
func (r *Runtime) Stop(ctx context.Context, d *sdk.Deployment, ui sdk.UI) error {
	s, err := decode(d)
	if err != nil {
		return err
	}
	if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	step := ui.Step(fmt.Sprintf("Stopping process %d", s.PID))
	if err := terminate(ctx, s.PID); err != nil {
		return step.Fail(err)
	}
	if err := markStopped(s.Dir); err != nil {
		return step.Fail(err)
	}
	step.Done()
	return nil
}

// Destroy stops every deployment of a project and removes its files.
func (r *Runtime) Destroy(ctx context.Context, project string, ui sdk.UI) error {
	root, err := r.dir(project, "x")
	if err != nil {
		return err
	}
	root = filepath.Dir(root)
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", root, err)
	}
	for _, e := range entries {
		if st, err := readState(filepath.Join(root, e.Name())); err == nil {
			if err := terminate(ctx, st.PID); err != nil {
				return err
			}
		}
	}
	ui.Logf("removing %s", root)
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("remove %s: %w", root, err)
	}
	return nil
}
