package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/variables"
)

// fakeVars is a deployment's snapshot, without a database.
type fakeVars []variables.Value

func (fakeVars) ValidateSecrets(map[string]string) error { return nil }
func (fakeVars) Snapshot(context.Context, pgx.Tx, variables.Snapshot) error {
	return errors.New("not in this test")
}
func (f fakeVars) Resolve(context.Context, string) ([]variables.Value, error) { return f, nil }
func (fakeVars) DeleteEnvironment(context.Context, pgx.Tx, string, string) error {
	return errors.New("not in this test")
}

// captureRuntime records the last DeployRequest.
type captureRuntime struct {
	*faultRuntime
	req *sdk.DeployRequest
}

func (c *captureRuntime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	c.req = req
	return c.faultRuntime.Deploy(ctx, req, ui)
}

const hunter = "hunter2-very-secret"

func TestConfigurePrecedence(t *testing.T) {
	f := newFixture(t)
	f.rec.o.AppURL = func(p string) string { return "https://" + p + ".apps.test" }
	f.rec.o.Variables = fakeVars{
		{Name: "MODE", Value: "stored"}, {Name: "API_KEY", Value: "stored-secret", Secret: true},
		{Name: "SHADOWED", Value: "stored-secret", Secret: true},
		{Name: "API_KEY", Value: hunter, Secret: true, DeploymentOnly: true},
	}
	rt := &captureRuntime{faultRuntime: f.rt}
	d := f.add(deploy.Deploying)
	d.Workload = api.Workload{Env: map[string]string{"MODE": "workload", "SHADOWED": "plain-now", "RISE_PROJECT": "spoofed"}}
	if _, err := f.rec.reconcile(context.Background(), d, rt, f.repo); err != nil {
		t.Fatal(err)
	}
	w := rt.req.Workload
	want := map[string]string{"MODE": "workload", "SHADOWED": "plain-now", "RISE_PROJECT": d.Project,
		"RISE_DEPLOYMENT_ID": d.ID, "RISE_DEPLOYMENT_GROUP": "default", "RISE_APP_URL": "https://" + d.Project + ".apps.test"}
	if fmt.Sprint(w.Env) != fmt.Sprint(want) {
		t.Errorf("env = %v\nwant  %v", w.Env, want)
	}
	if fmt.Sprint(w.SecretEnv) != fmt.Sprint(map[string]string{"API_KEY": hunter}) {
		t.Errorf("secret env = %v", w.SecretEnv)
	}
}

// TestRuntimeErrorsAreRedacted: a runtime error quoting a secret value
// reaches the deployment's message (and the log) with the value masked.
func TestRuntimeErrorsAreRedacted(t *testing.T) {
	f := newFixture(t)
	f.rec.o.Variables = fakeVars{{Name: "DB_PASSWORD", Value: hunter, Secret: true}}
	f.rt.deployErr = sdk.Permanent(fmt.Errorf("engine refused env DB_PASSWORD=%s", hunter))
	d := f.add(deploy.Deploying)
	if _, err := f.rec.reconcile(context.Background(), d, f.rt, f.repo); err != nil {
		t.Fatal(err)
	}
	got, err := f.repo.Get(context.Background(), d.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != deploy.Failed || strings.Contains(got.Message, hunter) || !strings.Contains(got.Message, "DB_PASSWORD="+api.Masked) {
		t.Fatalf("deployment %s: %q", got.State, got.Message)
	}
	// errors.Is/As still see the runtime's error through the redaction.
	if err := newRedactor(map[string]string{"K": hunter}).Err(sdk.Permanent(errors.New(hunter))); !sdk.IsPermanent(err) || strings.Contains(err.Error(), hunter) {
		t.Fatalf("redacted error: %v", err)
	}
	if s := newRedactor(map[string]string{"A": "ab", "B": hunter}).String("ab " + hunter); s != "ab "+api.Masked {
		t.Fatalf("short values are left, long ones masked: %q", s)
	}
}
