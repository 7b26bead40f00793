package deploy_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/server/identity"
)

// getHost requests / of app host label through the edge until it answers
// want (status and body), or fails after 15s.
func (e *env) getHost(t *testing.T, label string, wantCode int, wantBody string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var code int
	var body string
	for {
		req, _ := http.NewRequest(http.MethodGet, e.edge.URL+"/", nil)
		req.Host = label + "." + appsDomain
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s via edge: %v", req.Host, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code, body = resp.StatusCode, strings.TrimSpace(string(b))
		if code == wantCode && (wantBody == "" || body == wantBody) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s via edge = %d %q, want %d %q", req.Host, code, body, wantCode, wantBody)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEnvironmentsPreviewsPromotion runs on the real Docker Engine, a real
// registry and PostgreSQL, through the edge: a preview group (mr/27) in
// staging answers at its own host while production keeps answering;
// expiry removes the preview's container and route; promotion deploys
// staging's identical digest to production without a build; a service
// account limited to staging is refused on production; another user sees
// the project's environments as not found.
func TestEnvironmentsPreviewsPromotion(t *testing.T) {
	ie := newIsolationEnv(t)
	e := ie.env
	ctx := context.Background()
	p := "envs-" + randName()
	ie.teamProject(ie.alice, p)
	c := ie.alice.Client
	ref := ie.push(p, "v1")

	envs, err := c.ListEnvironments(ctx, p)
	if err != nil || len(envs.Environments) != 1 || envs.Environments[0].Name != "production" || !envs.Environments[0].Default {
		t.Fatalf("a new project's environments = %+v, %v", envs, err)
	}
	if _, err := c.CreateEnvironment(ctx, p, api.EnvironmentRequest{Name: "staging", Replicas: ptr(1), Memory: ptr("64Mi")}); err != nil {
		t.Fatalf("create staging: %v", err)
	}
	if _, err := c.CreateEnvironment(ctx, p, api.EnvironmentRequest{Name: "Bad_Name"}); api.StatusOf(err) != 400 {
		t.Errorf("invalid environment name: %v", err)
	}

	// Production.
	prod, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref, Workload: httpd("prod")})
	if err != nil {
		t.Fatalf("deploy production: %v", err)
	}
	prod = e.waitBy(c, p, prod.ID, api.StateHealthy)
	if prod.Environment != "production" || prod.URL != "https://"+p+"."+appsDomain {
		t.Fatalf("production deployment = %+v", prod)
	}
	e.getHost(t, p, 200, "prod")

	// A preview of merge request 27 in staging, with CI metadata.
	prev, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref, Workload: httpd("preview"),
		Environment: "staging", Group: "mr/27", Expire: "7d",
		JobURL: "https://gitlab.example.com/acme/shop/-/jobs/99", PullRequestURL: "https://gitlab.example.com/acme/shop/-/merge_requests/27"})
	if err != nil {
		t.Fatalf("deploy preview: %v", err)
	}
	prev = e.waitBy(c, p, prev.ID, api.StateHealthy)
	if prev.URL != "https://"+p+"--mr--27."+appsDomain || prev.Group != "mr/27" || prev.Environment != "staging" ||
		prev.JobURL == "" || prev.PullRequestURL == "" || prev.ExpiresAt == nil || time.Until(*prev.ExpiresAt) < 6*24*time.Hour {
		t.Fatalf("preview deployment = %+v", prev)
	}
	if prev.Workload.Replicas != 1 || prev.Workload.Memory != "64Mi" {
		t.Errorf("preview workload did not take staging's defaults: %+v", prev.Workload)
	}
	e.getHost(t, p+"--mr--27", 200, "preview")
	e.getHost(t, p, 200, "prod")
	e.getHost(t, p+"--mr--28", 503, "") // a group that does not run: no other app's route

	// The same group in another environment, and a group named like an
	// environment, would share a host: refused.
	if _, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref, Group: "mr/27"}); api.StatusOf(err) != 409 {
		t.Errorf("group mr/27 in production while it runs in staging: %v", err)
	}
	if _, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref, Group: "staging"}); api.StatusOf(err) != 409 {
		t.Errorf("group named like an environment: %v", err)
	}

	groups, err := c.ListDeploymentGroups(ctx, p)
	if err != nil || len(groups.Groups) != 2 {
		t.Fatalf("deployment groups = %+v, %v", groups, err)
	}
	if g := groups.Groups[1]; g.Environment != "staging" || g.Group != "mr/27" || g.URL != prev.URL || g.Deployment.ID != prev.ID {
		t.Errorf("preview group = %+v", g)
	}
	l, err := c.QueryDeployments(ctx, p, api.DeploymentQuery{Group: "mr/27"})
	if err != nil || len(l.Deployments) != 1 || l.Deployments[0].ID != prev.ID {
		t.Errorf("deployments of group mr/27 = %+v, %v", l, err)
	}

	// Expiry: once due, the preview stops, its container and route go;
	// production keeps answering.
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE deployments SET expires_at = now() WHERE deployment_id = $1`, prev.ID); err != nil {
		t.Fatal(err)
	}
	e.waitBy(c, p, prev.ID, api.StateExpired)
	eventually(t, "the preview's container to go", func() bool {
		return len(e.containers(p, docker.LabelDeployment+"="+prev.ID)) == 0
	})
	e.getHost(t, p+"--mr--27", 503, "")
	e.getHost(t, p, 200, "prod")

	// Promotion: staging's running digest goes to production, no build.
	staged, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref, Workload: httpd("staged"), Environment: "staging"})
	if err != nil {
		t.Fatalf("deploy staging: %v", err)
	}
	staged = e.waitBy(c, p, staged.ID, api.StateHealthy)
	e.getHost(t, p+"--staging", 200, "staged")
	promo, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{From: "staging", Environment: "production", UseSourceEnv: true})
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	if promo.State != api.StatePushed || promo.PromotedFrom != staged.ID || promo.ImageDigest == "" || promo.ImageDigest != staged.ImageDigest {
		t.Fatalf("promotion = %+v (source digest %q)", promo, staged.ImageDigest)
	}
	promo = e.waitBy(c, p, promo.ID, api.StateHealthy)
	if promo.ImageDigest != staged.ImageDigest {
		t.Fatalf("promoted digest %q, staging runs %q", promo.ImageDigest, staged.ImageDigest)
	}
	e.waitBy(c, p, prod.ID, api.StateSuperseded)
	e.getHost(t, p, 200, "staged")
	e.getHost(t, p+"--staging", 200, "staged")

	// Service accounts: limited to staging, refused on production; a
	// protected environment refuses unlimited ones too.
	pr, err := e.Store.ProjectByName(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	sa := e.As(&identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "sa-staging", ProjectID: pr.ID, Project: p,
		Issuer: "https://ci.test", Subject: "ci", Environments: []string{"staging"}}})
	_, err = sa.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{From: "staging", Environment: "production"})
	if api.StatusOf(err) != 403 || !strings.Contains(err.Error(), "only to staging") {
		t.Errorf("staging-limited service account deploying to production: %v", err)
	}
	if _, err := sa.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref, Workload: httpd("ci"),
		Environment: "staging", Group: "mr/30", Expire: "1h"}); err != nil {
		t.Errorf("staging-limited service account deploying a staging preview: %v", err)
	}
	if _, err := sa.Client.StopDeployment(ctx, p, promo.ID); api.StatusOf(err) != 403 {
		t.Errorf("staging-limited service account stopping production: %v", err)
	}
	pending, err := c.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Client.UpdateDeploymentState(ctx, p, pending.ID, &api.UpdateDeploymentStateRequest{State: api.StatePushed, Image: ref}); api.StatusOf(err) != 403 {
		t.Errorf("staging-limited service account handing a production deployment its image: %v", err)
	}
	if _, err := c.StopDeployment(ctx, p, pending.ID); err != nil {
		t.Fatal(err)
	}
	protect := true
	if _, err := c.UpdateEnvironment(ctx, p, "production", api.EnvironmentRequest{Protected: &protect}); err != nil {
		t.Fatalf("protect production: %v", err)
	}
	anySA := e.As(&identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "sa-any", ProjectID: pr.ID, Project: p,
		Issuer: "https://ci.test", Subject: "ci"}})
	if _, err := anySA.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref}); api.StatusOf(err) != 403 ||
		!strings.Contains(err.Error(), "protected") {
		t.Errorf("unlimited service account on a protected production: %v", err)
	}

	// A hostile user: the project's environments and groups look missing.
	for name, call := range map[string]func() error{
		"list environments": func() error { _, err := ie.bob.Client.ListEnvironments(ctx, p); return err },
		"show environment":  func() error { _, err := ie.bob.Client.GetEnvironment(ctx, p, "staging"); return err },
		"create": func() error {
			_, err := ie.bob.Client.CreateEnvironment(ctx, p, api.EnvironmentRequest{Name: "evil"})
			return err
		},
		"delete": func() error { return ie.bob.Client.DeleteEnvironment(ctx, p, "staging") },
		"groups": func() error { _, err := ie.bob.Client.ListDeploymentGroups(ctx, p); return err },
		"stop group": func() error {
			_, err := ie.bob.Client.StopGroup(ctx, p, api.StopGroupRequest{Environment: "staging", Group: "mr/30"})
			return err
		},
		"promote": func() error {
			_, err := ie.bob.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{From: "staging"})
			return err
		},
	} {
		err := call()
		if api.StatusOf(err) != 404 || !strings.Contains(err.Error(), "Project '"+p+"' not found") {
			t.Errorf("bob: %s: %v", name, err)
		}
	}

	// Stop a whole group.
	stopped, err := c.StopGroup(ctx, p, api.StopGroupRequest{Environment: "staging", Group: "mr/30"})
	if err != nil || len(stopped.Deployments) != 1 {
		t.Fatalf("stop group mr/30: %+v, %v", stopped, err)
	}
	e.waitBy(c, p, stopped.Deployments[0].ID, api.StateStopped, api.StateCancelled)
	if err := c.DeleteEnvironment(ctx, p, "staging"); api.StatusOf(err) != 409 {
		t.Errorf("delete staging while it runs: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
