package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/keyring"
	"github.com/riseplatform/rise/server/variables"
)

// envApp serves its own environment at / (busybox httpd).
func envApp() *api.Workload {
	return &api.Workload{Port: 8080, HealthPath: "/", Env: map[string]string{"FROM_WORKLOAD": "w"}, Command: []string{"/bin/sh", "-c",
		"mkdir -p /www && env > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"}}
}

func randomValue(label string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return label + "-" + hex.EncodeToString(b)
}

// TestVariablesReachTheApp deploys on the real Docker Engine: the app sees
// its stored variables, secrets, --secret-env values and rise's RISE_*
// variables; a change takes effect with a redeploy; a rollback restores
// the values the earlier deployment had; a staging deployment gets
// staging's own values over the project's.
func TestVariablesReachTheApp(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := keyring.FromConfig(ctx, &config.Encryption{Provider: "local", Key: base64.StdEncoding.EncodeToString(key)})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *deploy.Options) {
		svc, err := variables.New(variables.Options{Store: o.Store, Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		o.Variables = svc
	})
	p := e.project("public")
	c := e.owner.Client
	v1, v2, once := randomValue("v1"), randomValue("v2"), randomValue("once")
	set := func(v string) {
		t.Helper()
		if _, err := c.SetVariables(ctx, p, &api.SetVariablesRequest{Variables: []api.VariableInput{
			{Name: "MODE", Value: "plain-" + v}, {Name: "API_KEY", Value: v, Kind: api.KindSecret},
			{Name: "DB_PASSWORD", Value: v, Kind: api.KindProtected}}}); err != nil {
			t.Fatal(err)
		}
	}
	appEnv := func() string {
		t.Helper()
		code, body, _ := e.get(p, "/", nil)
		if code != 200 {
			t.Fatalf("GET app: %d %s", code, body)
		}
		return body
	}
	want := func(body string, lines ...string) {
		t.Helper()
		have := strings.Split(body, "\n")
		for _, l := range lines {
			found := false
			for _, h := range have {
				found = found || h == l
			}
			if !found {
				t.Errorf("app environment lacks %q:\n%s", l, body)
			}
		}
	}

	set(v1)
	d, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: e.image, Workload: envApp(),
		SecretEnv: map[string]string{"ONE_OFF": once}})
	if err != nil {
		t.Fatal(err)
	}
	d1 := e.wait(p, d.ID, api.StateHealthy)
	want(appEnv(), "MODE=plain-"+v1, "API_KEY="+v1, "DB_PASSWORD="+v1, "ONE_OFF="+once, "FROM_WORKLOAD=w",
		"RISE_PROJECT="+p, "RISE_DEPLOYMENT_ID="+d1.ID, "RISE_DEPLOYMENT_GROUP=default",
		"RISE_APP_URL=https://"+p+"."+appsDomain, "PORT=8080")

	// A change waits for the next deploy; --deploy's redeploy applies it
	// and keeps the deployment's own values.
	set(v2)
	want(appEnv(), "API_KEY="+v1)
	rd, err := c.Redeploy(ctx, p, d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.wait(p, rd.ID, api.StateHealthy)
	e.wait(p, d1.ID, api.StateSuperseded)
	want(appEnv(), "API_KEY="+v2, "DB_PASSWORD="+v2, "ONE_OFF="+once, "RISE_DEPLOYMENT_ID="+rd.ID)

	// Rollback restores the first deployment's values.
	rb, err := c.RollbackDeployment(ctx, p, d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.wait(p, rb.ID, api.StateHealthy)
	want(appEnv(), "API_KEY="+v1, "DB_PASSWORD="+v1, "MODE=plain-"+v1)

	// A staging deployment runs with staging's own MODE over the
	// project's variables; production keeps the project's.
	if _, err := c.CreateEnvironment(ctx, p, api.EnvironmentRequest{Name: "staging"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetEnvVariables(ctx, p, "staging", &api.SetVariablesRequest{Variables: []api.VariableInput{
		{Name: "MODE", Value: "staging-" + v2}}}); err != nil {
		t.Fatal(err)
	}
	sd, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: e.image, Workload: envApp(), Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	e.wait(p, sd.ID, api.StateHealthy)
	e.getHost(t, p+"--staging", http.StatusOK, "")
	req, _ := http.NewRequest(http.MethodGet, e.edge.URL+"/", nil)
	req.Host = p + "--staging." + appsDomain
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want(string(body), "MODE=staging-"+v2, "API_KEY="+v2, "DB_PASSWORD="+v2, "RISE_DEPLOYMENT_ID="+sd.ID)
	want(appEnv(), "MODE=plain-"+v1, "API_KEY="+v1)

	// No deployment row or response carries a value.
	l, err := c.ListDeployments(ctx, p, "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var rows string
	if err := e.Store.Pool().QueryRow(ctx, `SELECT string_agg(d::text, ' ') FROM deployments d`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{v1, v2, once} {
		if strings.Contains(rows, v) || strings.Contains(strings.Join(deploymentsText(l), " "), v) {
			t.Errorf("a deployment row or response holds a value")
		}
	}
}

func deploymentsText(l *api.DeploymentList) []string {
	var out []string
	for _, d := range l.Deployments {
		out = append(out, d.Message, d.Image, strings.Join(mapValues(d.Workload.Env), " "))
	}
	return out
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
