package kubernetes

import (
	"context"
	"strings"
	"testing"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/apphost"
	"k8s.io/apimachinery/pkg/util/validation"
)

func provisioned(t *testing.T, r *Runtime) *Runtime {
	t.Helper()
	if err := r.Provision(context.Background()); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return r
}

func TestDescribe(t *testing.T) {
	info, err := sdk.DescribeComponent(Component())
	if err != nil {
		t.Fatalf("DescribeComponent: %v", err)
	}
	if info.Kind != sdk.KindRuntime {
		t.Errorf("kind = %s, want runtime", info.Kind)
	}
	for _, want := range []string{"logs", "destroy"} {
		found := false
		for _, c := range info.Capabilities {
			found = found || strings.Contains(strings.ToLower(string(c)), want)
		}
		if !found {
			t.Errorf("capabilities %v lack %q", info.Capabilities, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		r    *Runtime
		want string // substring of the error; empty = valid
	}{
		{"minimal", &Runtime{Domain: "apps.example.com"}, ""},
		{"full", &Runtime{Domain: "apps.example.com", IngressClass: "nginx", CertManagerIssuer: "letsencrypt",
			PublicURL: "https://rise.example.com", Labels: map[string]string{"team": "platform"}}, ""},
		{"no domain", &Runtime{}, "domain is required"},
		{"bad domain", &Runtime{Domain: "Apps_Example"}, "not a DNS name"},
		{"tls and cert-manager", &Runtime{Domain: "a.b", TLSSecret: "wild", CertManagerIssuer: "le"}, "not both"},
		{"bad namespace format", &Runtime{Domain: "a.b", NamespaceFormat: "Rise_{project}"}, "namespace_format"},
		{"in-cluster and kubeconfig", &Runtime{Domain: "a.b", InCluster: true, Kubeconfig: "/x"}, "in_cluster"},
		{"bad scheme", &Runtime{Domain: "a.b", Scheme: "ftp"}, "scheme"},
		{"auth half set", &Runtime{Domain: "a.b", AuthURL: "http://x/auth"}, "auth_url and signin_url"},
		{"bad label", &Runtime{Domain: "a.b", Labels: map[string]string{"a b": "c"}}, "label key"},
		{"bad edge service", &Runtime{Domain: "a.b", EdgeService: "rise:http"}, "edge_service"},
		{"bad pull policy", &Runtime{Domain: "a.b", ImagePullPolicy: "Sometimes"}, "image_pull_policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate() // before Provision, as the SDK runs it
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate accepted the config, want an error about %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate: %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestProvisionDefaults(t *testing.T) {
	r := provisioned(t, &Runtime{Domain: "apps.example.com", PublicURL: "https://rise.example.com/"})
	if r.namespaceFor("shop") != "rise-shop" {
		t.Errorf("namespace = %q", r.namespaceFor("shop"))
	}
	if r.AuthURL != "https://rise.example.com/api/v1/ingress/auth?project={project}" {
		t.Errorf("auth_url default = %q", r.AuthURL)
	}
	if r.QPS != 50 || r.Burst != 100 || r.FieldManager != "rise" {
		t.Errorf("defaults: qps=%v burst=%d manager=%q", r.QPS, r.Burst, r.FieldManager)
	}
	for tg, want := range map[apphost.Target]string{
		{Project: "shop", Group: "default"}:                            "https://shop.apps.example.com",
		{Project: "shop", Group: "staging"}:                            "https://shop--staging.apps.example.com",
		{Project: "shop", Environment: "staging"}:                      "https://shop--staging.apps.example.com",
		{Project: "shop", Environment: "staging", Group: "mr/27"}:      "https://shop--mr--27.apps.example.com",
		{Project: "shop", Environment: "production", Group: "default"}: "https://shop.apps.example.com",
	} {
		if got := r.url(tg); got != want {
			t.Errorf("url of %+v = %q, want %q", tg, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	r := provisioned(t, &Runtime{Domain: "apps.example.com"})
	long := strings.Repeat("a", 60)
	for _, tc := range []struct{ project, group, id string }{
		{"my-app", "default", "20261123-142501"},
		{"my-app", "", "20261123-142501"},
		{"my-app", "Feature_X", "ID.With.Dots"},
		{"my-app", "mr/27", "20261123-142501"},
		{long, "staging", "20261123-142501"},
		{"9lives", "default", "x"},
	} {
		tg := apphost.Target{Project: tc.project, Group: tc.group}
		dn := r.deploymentName(tg, tc.id)
		if len(dn) > 52 || len(validation.IsDNS1123Label(dn)) > 0 {
			t.Errorf("deploymentName(%q,%q,%q) = %q: not a short DNS label", tc.project, tc.group, tc.id, dn)
		}
		sn := r.serviceName(tg)
		if len(validation.IsDNS1035Label(sn)) > 0 {
			t.Errorf("serviceName(%q,%q) = %q: %v", tc.project, tc.group, sn, validation.IsDNS1035Label(sn))
		}
		for _, v := range []string{labelValue(tc.id), labelValue(tc.project), labelValue(tc.group)} {
			if len(validation.IsValidLabelValue(v)) > 0 {
				t.Errorf("labelValue gave %q: %v", v, validation.IsValidLabelValue(v))
			}
		}
	}
	if r.deploymentName(apphost.Target{Project: "a"}, "x-1") == r.deploymentName(apphost.Target{Project: "a"}, "x_1") {
		t.Error("distinct ids map to the same Deployment name")
	}
	if got := r.deploymentName(apphost.Target{Project: "my-app", Group: "default"}, "20261123-142501"); got != "my-app-20261123-142501" {
		t.Errorf("readable names should stay readable, got %q", got)
	}
}

func TestAuthAnnotations(t *testing.T) {
	r := provisioned(t, &Runtime{Domain: "apps.example.com", PublicURL: "https://rise.example.com"})
	a := r.authAnnotations("secret-app")
	if got := a["nginx.ingress.kubernetes.io/auth-url"]; got != "https://rise.example.com/api/v1/ingress/auth?project=secret-app" {
		t.Errorf("auth-url = %q", got)
	}
	if got := a["nginx.ingress.kubernetes.io/auth-signin"]; !strings.HasPrefix(got, "https://rise.example.com/auth/login?rd=") {
		t.Errorf("auth-signin = %q", got)
	}
	// Authorization is answered by rise so that a rise token never reaches the app.
	if got := a["nginx.ingress.kubernetes.io/auth-response-headers"]; got != "X-Rise-User,X-Rise-Email,Authorization" {
		t.Errorf("auth-response-headers = %q", got)
	}
	r = provisioned(t, &Runtime{Domain: "a.b", AuthURL: "http://auth/{project}", SigninURL: "http://login",
		AuthAnnotations: map[string]string{"traefik.ingress.kubernetes.io/router.middlewares": "rise-auth-{project}@kubernetescrd", "x/check": "{auth_url}"}})
	a = r.authAnnotations("p1")
	if len(a) != 2 || a["traefik.ingress.kubernetes.io/router.middlewares"] != "rise-auth-p1@kubernetescrd" || a["x/check"] != "http://auth/p1" {
		t.Errorf("custom auth annotations = %v", a)
	}
}

func TestCheckRequest(t *testing.T) {
	ok := &sdk.DeployRequest{DeploymentID: "1", Project: "app", Artifact: sdk.Artifact{Repository: "r/app"}}
	if err := checkRequest(ok); err != nil {
		t.Fatalf("checkRequest: %v", err)
	}
	for _, bad := range []*sdk.DeployRequest{
		{DeploymentID: "1", Project: "App_1", Artifact: sdk.Artifact{Repository: "r"}},
		{Project: "app", Artifact: sdk.Artifact{Repository: "r"}},
		{DeploymentID: "1", Project: "app"},
	} {
		err := checkRequest(bad)
		if err == nil || !sdk.IsPermanent(err) {
			t.Errorf("checkRequest(%+v) = %v, want a permanent error", bad, err)
		}
	}
}

func TestFatalPodState(t *testing.T) {
	if msg := fatalPodState(nil); msg != "" {
		t.Errorf("no pods: %q", msg)
	}
}

// TestNamesInjective: another team cannot pick a project name (or a group
// or environment) that lands on this project's host or, in a shared
// namespace, its objects; targets whose host cannot be a DNS label are
// refused rather than shortened.
func TestNamesInjective(t *testing.T) {
	long := strings.Repeat("b", 30)
	type tgt = apphost.Target
	ok := []tgt{
		{Project: "a"}, {Project: "a", Group: "b"}, {Project: "a-b"}, {Project: "a", Group: "b/c"}, {Project: "a-b", Group: "c"},
		{Project: "a", Group: "b-c"}, {Project: "a", Environment: "staging"}, {Project: "a", Environment: "staging", Group: "mr/27"},
		{Project: "a-staging"}, {Project: "a", Group: "mr-27"}, {Project: long, Group: long}, {Project: long, Environment: "e" + long},
	}
	refused := []tgt{
		{Project: "a--b"}, {Project: "a--b", Group: "c"}, // a--b is group b's host of project a
		{Project: "a", Group: "b--c"},       // would be b/c's host
		{Project: long, Group: long + "xx"}, // 64 characters
	}
	for _, ns := range []string{"rise-{project}", "rise-apps"} {
		r := provisioned(t, &Runtime{Domain: "apps.example.com", NamespaceFormat: ns})
		for _, tg := range refused {
			if err := checkRequest(&sdk.DeployRequest{Project: tg.Project, Environment: tg.Environment, Group: tg.Group, DeploymentID: "1",
				Artifact: sdk.Artifact{Repository: "r"}}); err == nil || !sdk.IsPermanent(err) {
				t.Errorf("%+v accepted (%v)", tg, err)
			}
		}
		hosts, services, deployments := map[string]tgt{}, map[string]tgt{}, map[string]tgt{}
		for _, tg := range ok {
			if err := checkRequest(&sdk.DeployRequest{Project: tg.Project, Environment: tg.Environment, Group: tg.Group, DeploymentID: "1",
				Artifact: sdk.Artifact{Repository: "r"}}); err != nil {
				t.Fatalf("%+v refused: %v", tg, err)
			}
			h := tg.Label()
			if len(validation.IsDNS1123Label(h)) > 0 {
				t.Errorf("host label %q of %+v: %v", h, tg, validation.IsDNS1123Label(h))
			}
			if tg.Suffix() != "" && checkRequest(&sdk.DeployRequest{Project: h, DeploymentID: "1", Artifact: sdk.Artifact{Repository: "r"}}) == nil {
				t.Errorf("host %q of %+v is a project name the runtime accepts", h, tg)
			}
			scope := "" // objects: per namespace
			if ns == "rise-{project}" {
				scope = tg.Project + "|"
			}
			for _, c := range []struct {
				seen map[string]tgt
				name string
			}{{hosts, h}, {services, scope + r.serviceName(tg)}, {deployments, scope + r.deploymentName(tg, "1")}} {
				if other, dup := c.seen[c.name]; dup {
					t.Errorf("%+v and %+v both map to %q (namespace %s)", other, tg, c.name, ns)
				}
				c.seen[c.name] = tg
			}
		}
	}
}
