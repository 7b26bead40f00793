package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
	"github.com/riseplatform/rise/sdk/sdktest/testapp"
)

// kitRuntime is a runtime whose apps are the kit's test workload served in
// this process. Without a fault it keeps the whole contract; each fault
// breaks one clause, the way the plugins the kit must catch did.
type kitRuntime struct {
	Fault string `hcl:"fault,optional"`

	own map[string]*kitApp // fault "stateful": deployments kept in the value
}

type kitApp struct {
	project, id string
	app         *testapp.App
	out         *lineLog
	srv         *http.Server
	addr        string
	health      string
	stopped     bool
}

var kitApps = struct {
	sync.Mutex
	m map[string]*kitApp
}{m: map[string]*kitApp{}}

func kitComponent() sdk.Component {
	return sdk.Component{Name: "kit", New: func() any { return &kitRuntime{} }}
}

var (
	_ sdk.Runtime     = (*kitRuntime)(nil)
	_ sdk.LogStreamer = (*kitRuntime)(nil)
	_ sdk.Destroyer   = (*kitRuntime)(nil)
)

func (r *kitRuntime) store() map[string]*kitApp {
	if r.Fault == "stateful" {
		if r.own == nil {
			r.own = map[string]*kitApp{}
		}
		return r.own
	}
	return kitApps.m
}

func (r *kitRuntime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if r.Fault == "stdout" {
		fmt.Println("deploying", req.DeploymentID)
	}
	key := req.Project + "/" + req.DeploymentID
	kitApps.Lock()
	a, ok := r.store()[key]
	if !ok || a.stopped || r.Fault == "deploy_not_idempotent" {
		var err error
		if a, err = startApp(req); err != nil {
			kitApps.Unlock()
			return nil, err
		}
		r.store()[key] = a
	}
	kitApps.Unlock()
	ui.Step("Started " + key).Done()
	wait := ctx
	if r.Fault == "ignore_cancel" {
		wait = context.Background()
	}
	for probeApp(a) != nil {
		select {
		case <-wait.Done():
			return nil, wait.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	d, err := sdk.NewDeployment(req.DeploymentID, map[string]string{"key": key})
	if err != nil {
		return nil, err
	}
	d.Project = req.Project
	if r.Fault != "no_addresses" {
		d.Upstreams = []string{"http://" + a.addr}
	}
	return d, nil
}

// startApp serves the test app on a free port after its start delay.
func startApp(req *sdk.DeployRequest) (*kitApp, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	out := &lineLog{}
	a := &kitApp{project: req.Project, id: req.DeploymentID, out: out, addr: addr, health: req.Workload.HealthPath,
		app: testapp.New(req.Workload.Env["SDKTEST_TOKEN"], out)}
	a.srv = &http.Server{Handler: a.app}
	delay, _ := time.ParseDuration(req.Workload.Env["SDKTEST_START_DELAY"])
	go func() {
		time.Sleep(delay)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		a.app.Start()
		_ = a.srv.Serve(l)
	}()
	return a, nil
}

func probeApp(a *kitApp) error {
	resp, err := http.Get("http://" + a.addr + a.health)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return errors.New(resp.Status)
	}
	return nil
}

func (r *kitRuntime) lookup(d *sdk.Deployment) (*kitApp, error) {
	var st struct{ Key string }
	if err := d.DecodeState(&st); err != nil {
		return nil, err
	}
	kitApps.Lock()
	defer kitApps.Unlock()
	a, ok := r.store()[st.Key]
	if !ok {
		if r.Fault == "status_plain_error" {
			return nil, errors.New("no such deployment " + d.ID)
		}
		return nil, fmt.Errorf("deployment %s: %w", d.ID, sdk.ErrNotFound)
	}
	return a, nil
}

func (r *kitRuntime) Status(_ context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	if r.Fault == "always_healthy" {
		return &sdk.Status{Health: sdk.HealthHealthy}, nil
	}
	a, err := r.lookup(d)
	if err != nil {
		return nil, err
	}
	kitApps.Lock()
	stopped := a.stopped
	kitApps.Unlock()
	switch {
	case stopped:
		return &sdk.Status{Health: sdk.HealthStopped}, nil
	case probeApp(a) != nil:
		return &sdk.Status{Health: sdk.HealthUnhealthy, Message: probeApp(a).Error()}, nil
	}
	return &sdk.Status{Health: sdk.HealthHealthy}, nil
}

func (r *kitRuntime) Stop(_ context.Context, d *sdk.Deployment, _ sdk.UI) error {
	a, err := r.lookup(d)
	if errors.Is(err, sdk.ErrNotFound) || r.Fault == "stop_noop" {
		return nil
	}
	if err != nil {
		return err
	}
	stop(a)
	return nil
}

func stop(a *kitApp) {
	kitApps.Lock()
	a.stopped = true
	kitApps.Unlock()
	_ = a.srv.Close()
}

func (r *kitRuntime) Logs(ctx context.Context, d *sdk.Deployment, o sdk.LogOptions, emit func(sdk.LogLine) error) error {
	a, err := r.lookup(d)
	if err != nil {
		return err
	}
	lines := a.out.lines()
	if o.Tail > 0 && len(lines) > o.Tail && r.Fault != "logs_ignore_tail" {
		lines = lines[len(lines)-o.Tail:]
	}
	n := len(a.out.lines())
	for _, l := range lines {
		if err := emit(sdk.LogLine{Text: l}); err != nil {
			return err
		}
	}
	if !o.Follow {
		return nil
	}
	for {
		if r.Fault == "logs_follow_forever" {
			time.Sleep(50 * time.Millisecond)
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		all := a.out.lines()
		for _, l := range all[n:] {
			_ = emit(sdk.LogLine{Text: l})
		}
		n = len(all)
	}
}

func (r *kitRuntime) Destroy(_ context.Context, project string, _ sdk.UI) error {
	if r.Fault == "destroy_noop" {
		return nil
	}
	kitApps.Lock()
	var gone []*kitApp
	for k, a := range r.store() {
		if a.project == project {
			gone = append(gone, a)
			delete(r.store(), k)
		}
	}
	kitApps.Unlock()
	for _, a := range gone {
		stop(a)
	}
	return nil
}

// lineLog is an app's output, line by line.
type lineLog struct {
	mu sync.Mutex
	b  []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	return len(p), nil
}

func (l *lineLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.b)
}

func kitRequest(id string) *sdk.DeployRequest {
	return &sdk.DeployRequest{DeploymentID: id, Project: "kit", Group: "default",
		Workload: sdk.Workload{Port: 8080, Replicas: 1, HealthPath: "/healthz"}}
}

func kitOptions() []sdktest.Option {
	return []sdktest.Option{sdktest.WithProject("kit"), sdktest.WithDeployRequest(kitRequest), sdktest.WithTimeout(5 * time.Second)}
}

// TestKitPassesAGoodRuntime: the runtime without faults passes every check.
func TestKitPassesAGoodRuntime(t *testing.T) {
	sdktest.RuntimeConformance(t, kitComponent(), nil, kitOptions()...)
}

// TestKitCatchesBrokenRuntimes runs the suite against one broken runtime per
// fault, each in a child process, and checks that the right check fails
// with the clause it enforces.
func TestKitCatchesBrokenRuntimes(t *testing.T) {
	if fault := os.Getenv("SDKTEST_KIT_FAULT"); fault != "" {
		sdktest.RuntimeConformance(t, kitComponent(), map[string]any{"fault": fault}, kitOptions()...)
		return
	}
	for _, tc := range []struct {
		fault string
		check sdktest.Check
		want  string
	}{
		{"deploy_not_idempotent", sdktest.CheckDeployIdempotent, "started another copy of the app"},
		{"ignore_cancel", sdktest.CheckCancellation, "after the host cancelled it"},
		{"status_plain_error", sdktest.CheckDestroy, "want an error wrapping sdk.ErrNotFound"},
		{"destroy_noop", sdktest.CheckDestroy, "after Destroy"},
		{"logs_ignore_tail", sdktest.CheckLogsTail, "Tail=2"},
		{"logs_follow_forever", sdktest.CheckLogsFollow, "still running"},
		{"no_addresses", sdktest.CheckDeploy, "no Upstreams and no URLs"},
		{"always_healthy", sdktest.CheckStatusObserves, "still says healthy"},
		{"stop_noop", sdktest.CheckStop, "after Stop"},
		{"stateful", sdktest.CheckStateless, "a fresh plugin process"},
		{"stdout", sdktest.CheckNoStdout, "plugin wrote"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKitCatchesBrokenRuntimes$", "-test.v")
			cmd.Env = append(os.Environ(), "SDKTEST_KIT_FAULT="+tc.fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the kit passed a runtime with fault %s:\n%s", tc.fault, out)
			}
			fail := fmt.Sprintf("--- FAIL: TestKitCatchesBrokenRuntimes/%s ", tc.check)
			clause := fmt.Sprintf("contract [%s] %s", tc.check, sdktest.Contract[tc.check])
			for _, want := range []string{fail, clause, tc.want} {
				if !strings.Contains(string(out), want) {
					t.Errorf("fault %s: the output lacks %q:\n%s", tc.fault, want, out)
				}
			}
		})
	}
}

// TestKitUnknownSkipFails: a Skip naming a check the suite lacks fails it.
func TestKitUnknownSkipFails(t *testing.T) {
	if os.Getenv("SDKTEST_KIT_BADSKIP") == "1" {
		sdktest.RuntimeConformance(t, kitComponent(), nil, append(kitOptions(), sdktest.Skip("typo", "deploy_idempotnt"))...)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKitUnknownSkipFails$", "-test.v")
	cmd.Env = append(os.Environ(), "SDKTEST_KIT_BADSKIP=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `sdktest.Skip("deploy_idempotnt"): the runtime suite has no such check`) {
		t.Fatalf("an unknown skip name did not fail the suite (%v):\n%s", err, out)
	}
}

// With SDKTEST_KIT_SERVE=1 the test binary is a plugin binary serving the
// kit runtime (for LaunchBinary).
func TestMain(m *testing.M) {
	if os.Getenv("SDKTEST_KIT_SERVE") == "1" {
		os.Exit(sdk.Main(sdk.Plugin{Name: "kit", Version: "test", Components: []sdk.Component{kitComponent()}}, nil))
	}
	os.Exit(m.Run())
}

// TestKitCatchesBrokenBinaries: through LaunchBinary the kit sees what the
// plugin's SDK logs about calls that ignore their cancellation.
func TestKitCatchesBrokenBinaries(t *testing.T) {
	if fault, ok := os.LookupEnv("SDKTEST_KIT_BINARY_FAULT"); ok {
		conn := sdktest.LaunchBinary(t, os.Args[0], []string{"SDKTEST_KIT_SERVE=1"})
		sdktest.RuntimeConformanceConn(t, conn, "kit", map[string]any{"fault": fault}, append(kitOptions(),
			sdktest.Skip("the kit runtime's apps live in its plugin process", sdktest.CheckStateless))...)
		return
	}
	for _, tc := range []struct {
		fault string
		check sdktest.Check
		want  string
	}{
		{"", "", ""},
		{"ignore_cancel", sdktest.CheckCancellation, "after the host cancelled it"},
		{"logs_follow_forever", sdktest.CheckLogsFollow, "still running"},
		{"stdout", sdktest.CheckNoStdout, "plugin wrote"},
	} {
		t.Run("fault="+tc.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestKitCatchesBrokenBinaries$", "-test.v")
			cmd.Env = append(os.Environ(), "SDKTEST_KIT_BINARY_FAULT="+tc.fault)
			out, err := cmd.CombinedOutput()
			if tc.fault == "" {
				if err != nil {
					t.Fatalf("the kit failed the good runtime as a binary:\n%s", out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the kit passed a binary with fault %s:\n%s", tc.fault, out)
			}
			for _, want := range []string{fmt.Sprintf("--- FAIL: TestKitCatchesBrokenBinaries/%s ", tc.check), tc.want} {
				if !strings.Contains(string(out), want) {
					t.Errorf("fault %s: the output lacks %q:\n%s", tc.fault, want, out)
				}
			}
		})
	}
}
