package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/examples/plugins/ecs/ecsfake"
	"github.com/riseplatform/rise/sdk"
)

// testUI records progress.
type testUI struct {
	mu     sync.Mutex
	events []string
}

func (u *testUI) add(e string) { u.mu.Lock(); u.events = append(u.events, e); u.mu.Unlock() }
func (u *testUI) Step(title string) sdk.Step {
	u.add("step " + title)
	return testStep{u, title}
}
func (u *testUI) Logf(format string, args ...any) { u.add("log " + fmt.Sprintf(format, args...)) }

type testStep struct {
	u     *testUI
	title string
}

func (s testStep) Done()                       { s.u.add("done " + s.title) }
func (s testStep) Fail(err error) error        { s.u.add("fail " + s.title); return err }
func (s testStep) Writer(sdk.Stream) io.Writer { return io.Discard }

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func newRuntime(t *testing.T, f *fakeAWS, edit ...func(*Runtime)) *Runtime {
	t.Helper()
	r := &Runtime{
		Region: "eu-west-1", Cluster: "apps", Subnets: []string{"subnet-1", "subnet-2"},
		SecurityGroups: []string{"sg-1"}, ExecutionRoleARN: "arn:aws:iam::123456789012:role/exec",
		LogGroup: "/rise/apps", Domain: "apps.example.com", Endpoint: f.URL,
	}
	for _, e := range edit {
		e(r)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := r.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func deployReq(id string) *sdk.DeployRequest {
	return &sdk.DeployRequest{
		DeploymentID: id, Project: "my-app", Group: "default", Visibility: "public",
		Artifact: sdk.Artifact{Repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rise/my-app", Tag: "latest", Digest: digest},
		Workload: sdk.Workload{
			Port: 8080, Replicas: 2, Env: map[string]string{"B": "2", "A": "1"},
			Resources: sdk.Resources{CPU: "500m", Memory: "1Gi"}, Command: []string{"/app", "serve"},
		},
	}
}

func status(t *testing.T, r *Runtime, d *sdk.Deployment) *sdk.Status {
	t.Helper()
	st, err := r.Status(context.Background(), d)
	if err != nil {
		t.Fatalf("Status(%s): %v", d.ID, err)
	}
	return st
}

func wantCalls(t *testing.T, f *fakeAWS, want ...string) {
	t.Helper()
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Fatalf("AWS calls = %q, want %q", got, want)
	}
}

// get walks a decoded JSON request: get(m, "containerDefinitions", 0, "image").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestDeployLifecycle(t *testing.T) {
	f := newFakeAWS(t)
	r := newRuntime(t, f)
	ctx := context.Background()
	ui := &testUI{}

	d1, err := r.Deploy(ctx, deployReq("20261126-100000"), ui)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	wantCalls(t, f, "DescribeServices", "RegisterTaskDefinition", "CreateService")
	td := f.last("RegisterTaskDefinition")
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"family"}, "rise-my-app"},
		{[]any{"cpu"}, "512"},
		{[]any{"memory"}, "1024"},
		{[]any{"networkMode"}, "awsvpc"},
		{[]any{"requiresCompatibilities", 0}, "FARGATE"},
		{[]any{"executionRoleArn"}, "arn:aws:iam::123456789012:role/exec"},
		{[]any{"containerDefinitions", 0, "image"}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rise/my-app@" + digest},
		{[]any{"containerDefinitions", 0, "portMappings", 0, "containerPort"}, 8080.0},
		{[]any{"containerDefinitions", 0, "environment", 0, "name"}, "A"},
		{[]any{"containerDefinitions", 0, "environment", 1, "value"}, "2"},
		{[]any{"containerDefinitions", 0, "command", 1}, "serve"},
		{[]any{"containerDefinitions", 0, "dockerLabels", "rise.deployment-id"}, "20261126-100000"},
		{[]any{"containerDefinitions", 0, "logConfiguration", "logDriver"}, "awslogs"},
		{[]any{"containerDefinitions", 0, "logConfiguration", "options", "awslogs-stream-prefix"}, "20261126-100000"},
	} {
		if got := get(td, c.path...); got != c.want {
			t.Errorf("RegisterTaskDefinition %v = %v, want %v", c.path, got, c.want)
		}
	}
	cs := f.last("CreateService")
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"cluster"}, "apps"},
		{[]any{"serviceName"}, "rise-my-app"},
		{[]any{"taskDefinition"}, "arn:aws:ecs:eu-west-1:123456789012:task-definition/rise-my-app:1"},
		{[]any{"desiredCount"}, 2.0},
		{[]any{"launchType"}, "FARGATE"},
		{[]any{"networkConfiguration", "awsvpcConfiguration", "subnets", 1}, "subnet-2"},
		{[]any{"networkConfiguration", "awsvpcConfiguration", "securityGroups", 0}, "sg-1"},
		{[]any{"networkConfiguration", "awsvpcConfiguration", "assignPublicIp"}, "DISABLED"},
	} {
		if got := get(cs, c.path...); got != c.want {
			t.Errorf("CreateService %v = %v, want %v", c.path, got, c.want)
		}
	}
	if !slices.Contains(ui.events, "done Creating service rise-my-app") {
		t.Errorf("UI events %q lack the service step", ui.events)
	}
	if d1.StateVersion != stateVersion || !slices.Equal(d1.URLs, []string{"https://my-app.apps.example.com"}) {
		t.Errorf("deployment = %+v", d1)
	}

	// Level-based status: rolling out, then healthy.
	if st := status(t, r, d1); st.Health != sdk.HealthPending {
		t.Errorf("first Status = %s (%s), want pending", st.Health, st.Message)
	}
	if st := status(t, r, d1); st.Health != sdk.HealthHealthy || st.Message != "2/2 tasks running" {
		t.Errorf("second Status = %s (%s), want healthy", st.Health, st.Message)
	}

	// Deploy is idempotent per deployment id: nothing new is registered.
	f.Calls()
	again, err := r.Deploy(ctx, deployReq("20261126-100000"), &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "DescribeServices", "DescribeTaskDefinition")
	if string(again.State) != string(d1.State) {
		t.Errorf("retried Deploy state %s, want %s", again.State, d1.State)
	}

	// A new deployment updates the service and remembers the previous task
	// definition (the rollback target).
	d2, err := r.Deploy(ctx, deployReq("20261126-110000"), &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "DescribeServices", "DescribeTaskDefinition", "RegisterTaskDefinition", "UpdateService")
	var st2 state
	if err := d2.DecodeState(&st2); err != nil {
		t.Fatal(err)
	}
	if st2.TaskDefinition != "arn:aws:ecs:eu-west-1:123456789012:task-definition/rise-my-app:2" || st2.PreviousTaskDefinition != "arn:aws:ecs:eu-west-1:123456789012:task-definition/rise-my-app:1" {
		t.Errorf("state = %+v", st2)
	}
	if got := get(f.last("UpdateService"), "taskDefinition"); got != st2.TaskDefinition {
		t.Errorf("UpdateService taskDefinition = %v", got)
	}

	// The superseded deployment reads as stopped, and stopping it leaves
	// the service alone.
	if st := status(t, r, d1); st.Health != sdk.HealthStopped {
		t.Errorf("Status of superseded deployment = %s", st.Health)
	}
	f.Calls()
	if err := r.Stop(ctx, d1, &testUI{}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "DescribeServices")

	// Stop scales to 0, once.
	if err := r.Stop(ctx, d2, &testUI{}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "DescribeServices", "UpdateService")
	if got := get(f.last("UpdateService"), "desiredCount"); got != 0.0 {
		t.Errorf("Stop: desiredCount = %v, want 0", got)
	}
	if st := status(t, r, d2); st.Health != sdk.HealthStopped {
		t.Errorf("Status after Stop = %s", st.Health)
	}
	f.Calls()
	if err := r.Stop(ctx, d2, &testUI{}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "DescribeServices")

	// Deploying a stopped deployment again scales it back up.
	if _, err := r.Deploy(ctx, deployReq("20261126-110000"), &testUI{}); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, f, "DescribeServices", "DescribeTaskDefinition", "UpdateService")
	if got := get(f.last("UpdateService"), "desiredCount"); got != 2.0 {
		t.Errorf("redeploy: desiredCount = %v, want 2", got)
	}
	status(t, r, d2) // tasks starting: 0/2 running
	if st := status(t, r, d2); st.Health != sdk.HealthHealthy {
		t.Errorf("Status after redeploy = %s (%s)", st.Health, st.Message)
	}
}

func TestDestroyDeletesOnlyTheProjectsServices(t *testing.T) {
	f := newFakeAWS(t)
	r := newRuntime(t, f)
	ctx := context.Background()
	staging := deployReq("20261126-120000")
	staging.Group = "staging"
	other := deployReq("20261126-120001")
	other.Project = "my-app-two" // shares the prefix, not the project
	var deps []*sdk.Deployment
	for _, req := range []*sdk.DeployRequest{deployReq("20261126-120002"), staging, other} {
		d, err := r.Deploy(ctx, req, &testUI{})
		if err != nil {
			t.Fatal(err)
		}
		deps = append(deps, d)
	}
	if got := get(f.last("CreateService"), "serviceName"); got != "rise-my-app-two" {
		t.Fatalf("service name %v", got)
	}
	if get(f.Requests("CreateService")[1], "serviceName") != "rise-my-app_staging" {
		t.Fatalf("group service name %v", get(f.Requests("CreateService")[1], "serviceName"))
	}
	f.Calls()
	if err := r.Destroy(ctx, "my-app", &testUI{}); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, req := range f.Requests("DeleteService") {
		deleted = append(deleted, req["service"].(string))
	}
	slices.Sort(deleted)
	if !slices.Equal(deleted, []string{"rise-my-app", "rise-my-app_staging"}) {
		t.Fatalf("deleted %q", deleted)
	}
	for _, d := range deps[:2] {
		if _, err := r.Status(ctx, d); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Status after Destroy: %v, want ErrNotFound", err)
		}
		if err := r.Stop(ctx, d, &testUI{}); err != nil {
			t.Errorf("Stop after Destroy: %v", err)
		}
	}
	if _, err := r.Status(ctx, deps[2]); err != nil {
		t.Errorf("the other project's service is gone: %v", err)
	}
	if err := r.Destroy(ctx, "my-app", &testUI{}); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
}

func TestFailedRollout(t *testing.T) {
	f := newFakeAWS(t)
	r := newRuntime(t, f)
	req := deployReq("20261126-130000")
	f.FailRollouts(req.Artifact.Ref())
	d, err := r.Deploy(context.Background(), req, &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	status(t, r, d)
	if st := status(t, r, d); st.Health != sdk.HealthFailed || !strings.Contains(st.Message, "tasks failed to start") {
		t.Fatalf("Status = %s (%s), want failed", st.Health, st.Message)
	}
}

func TestDeployRejectsPermanently(t *testing.T) {
	f := newFakeAWS(t)
	r := newRuntime(t, f)
	for name, edit := range map[string]func(*sdk.DeployRequest){
		"unpinned image": func(q *sdk.DeployRequest) { q.Artifact.Digest = "" },
		"secret env":     func(q *sdk.DeployRequest) { q.Workload.SecretEnv = map[string]string{"TOKEN": "x"} },
		"huge task":      func(q *sdk.DeployRequest) { q.Workload.Resources.CPU = "64" },
	} {
		req := deployReq("20261126-140000")
		edit(req)
		if _, err := r.Deploy(context.Background(), req, &testUI{}); !sdk.IsPermanent(err) {
			t.Errorf("%s: Deploy error %v, want a permanent error", name, err)
		}
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("rejected deploys called AWS: %q", calls)
	}
}

func TestAWSErrorsAreReported(t *testing.T) {
	f := newFakeAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "WRONG") // the fake only accepts AKIDTEST
	r := newRuntime(t, f)
	_, err := r.Deploy(context.Background(), deployReq("20261126-150000"), &testUI{})
	if err == nil || !strings.Contains(err.Error(), "describe service rise-my-app") || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Fatalf("Deploy with bad credentials: %v", err)
	}
	if sdk.IsPermanent(err) {
		t.Error("AWS errors should be retryable")
	}
}

func TestLogs(t *testing.T) {
	f := newFakeAWS(t)
	r := newRuntime(t, f)
	d, err := r.Deploy(context.Background(), deployReq("20261126-160000"), &testUI{})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC).UnixMilli()
	event := func(n int, stream, group string) ecsfake.LogEvent {
		return ecsfake.LogEvent{ID: fmt.Sprint(n), Stream: stream, Timestamp: base + int64(n),
			Message: fmt.Sprintf("line %d", n), Group: group}
	}
	f.AddLogs(
		event(1, "20261126-160000/app/task1", "/rise/apps"),
		event(2, "20261126-999999/app/task9", "/rise/apps"), // another deployment
		event(3, "20261126-160000/app/task2", "/rise/apps"),
		event(4, "20261126-160000/app/task1", "/other"), // another group
	)

	var got []string
	collect := func(l sdk.LogLine) error { got = append(got, l.Text); return nil }
	if err := r.Logs(context.Background(), d, sdk.LogOptions{}, collect); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"line 1", "line 3"}) {
		t.Fatalf("Logs = %q", got)
	}
	got = nil
	if err := r.Logs(context.Background(), d, sdk.LogOptions{Tail: 1}, collect); err != nil || !slices.Equal(got, []string{"line 3"}) {
		t.Fatalf("Logs tail 1 = %q, %v", got, err)
	}

	// Follow: a line written while following arrives once; emit's error ends it.
	defer func(p time.Duration) { logPoll = p }(logPoll)
	logPoll = 5 * time.Millisecond
	got = nil
	errEnough := errors.New("enough")
	err = r.Logs(context.Background(), d, sdk.LogOptions{Follow: true}, func(l sdk.LogLine) error {
		got = append(got, l.Text)
		switch l.Text {
		case "line 3":
			f.AddLogs(event(5, "20261126-160000/app/task1", "/rise/apps"))
		case "line 5":
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) || !slices.Equal(got, []string{"line 1", "line 3", "line 5"}) {
		t.Fatalf("follow: %q, %v", got, err)
	}

	// Without a log group the capability is unsupported.
	r2 := newRuntime(t, f, func(r *Runtime) { r.LogGroup = "" })
	if err := r2.Logs(context.Background(), d, sdk.LogOptions{}, collect); !errors.Is(err, sdk.ErrUnsupported) {
		t.Fatalf("Logs without log_group: %v", err)
	}
}

func TestTaskSize(t *testing.T) {
	for _, c := range []struct {
		cpu, mem       string
		units, mib     int
		wantErrContain string
	}{
		{"", "", 256, 512, ""},
		{"250m", "256Mi", 256, 512, ""},
		{"0.5", "", 512, 1024, ""},
		{"500m", "1Gi", 512, 1024, ""},
		{"1", "3000", 1024, 3072, ""},
		{"1024", "2Gi", 1024, 2048, ""},
		{"256", "4Gi", 512, 4096, ""}, // 256 units allow at most 2 GiB
		{"2", "1G", 2048, 4096, ""},
		{"16", "120Gi", 16384, 122880, ""},
		{"32", "", 0, 0, "no Fargate task size"},
		{"lots", "", 0, 0, `cpu "lots"`},
		{"", "1TB", 0, 0, `memory "1TB"`},
	} {
		units, mib, err := taskSize(c.cpu, c.mem)
		switch {
		case c.wantErrContain != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErrContain) {
				t.Errorf("taskSize(%q, %q) error = %v, want %q", c.cpu, c.mem, err, c.wantErrContain)
			}
		case err != nil || units != c.units || mib != c.mib:
			t.Errorf("taskSize(%q, %q) = %d, %d, %v; want %d, %d", c.cpu, c.mem, units, mib, err, c.units, c.mib)
		}
	}
}

func TestValidate(t *testing.T) {
	r := &Runtime{Region: "eu-west-1", Cluster: "apps", CPU: "lots"}
	err := r.Validate()
	if err == nil || !strings.Contains(err.Error(), "subnets must not be empty") || !strings.Contains(err.Error(), `cpu "lots"`) {
		t.Fatalf("Validate = %v", err)
	}
}
