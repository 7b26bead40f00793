package kubernetes

import (
	"sort"
	"testing"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEnvironmentAndPreviewHosts: on a real API server, production's
// default group, another environment and a preview group (with '/') each
// get their own Ingress host (sdk/apphost's scheme); stopping the preview
// (what expiry does) removes its Deployment, Service and Ingress, and
// production and staging keep theirs.
func TestEnvironmentAndPreviewHosts(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	for _, nsFormat := range []string{"rise-{project}", "rise-shared-envs"} {
		t.Run(nsFormat, func(t *testing.T) {
			r := newRuntime(t, c, func(r *Runtime) { r.NamespaceFormat = nsFormat })
			project := uniqueProject("envs")
			prod := request(project, "20261205-060000")
			staging := request(project, "20261205-060001")
			staging.Environment = "staging"
			preview := request(project, "20261205-060002")
			preview.Environment, preview.Group = "staging", "mr/27"
			handles := map[string]*sdk.Deployment{}
			for _, req := range []*sdk.DeployRequest{prod, staging, preview} {
				handles[req.DeploymentID] = deploy(t, r, req)
				markAvailable(t, cs, r, req)
				if st := status(t, r, handles[req.DeploymentID]); st.Health != sdk.HealthHealthy {
					t.Fatalf("%s: %+v", req.DeploymentID, st)
				}
			}
			if t.Failed() {
				return
			}
			ns := r.namespaceFor(project)
			hosts := func() []string {
				t.Helper()
				l, err := cs.NetworkingV1().Ingresses(ns).List(ctx(t), metav1.ListOptions{LabelSelector: LabelProject + "=" + project})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, ing := range l.Items {
					for _, rule := range ing.Spec.Rules {
						out = append(out, rule.Host)
					}
				}
				sort.Strings(out)
				return out
			}
			want := []string{project + "--mr--27.apps.example.com", project + "--staging.apps.example.com", project + ".apps.example.com"}
			if got := hosts(); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Fatalf("ingress hosts = %v, want %v", got, want)
			}
			if u := handles[preview.DeploymentID].URLs; len(u) != 1 || u[0] != "https://"+want[0] {
				t.Errorf("preview URLs = %v", u)
			}
			if u := handles[staging.DeploymentID].URLs; len(u) != 1 || u[0] != "https://"+want[1] {
				t.Errorf("staging URLs = %v", u)
			}

			// Expiry stops the preview: its objects and its host go.
			if err := r.Stop(ctx(t), handles[preview.DeploymentID], nil); err != nil {
				t.Fatalf("stop preview: %v", err)
			}
			if got := hosts(); len(got) != 2 || got[0] != want[1] || got[1] != want[2] {
				t.Fatalf("ingress hosts after the preview expired = %v, want %v", got, want[1:])
			}
			svc := r.serviceName(preview.Target())
			if _, err := cs.CoreV1().Services(ns).Get(ctx(t), svc, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("preview service %s after stop: %v", svc, err)
			}
			if _, err := cs.AppsV1().Deployments(ns).Get(ctx(t), r.deploymentName(preview.Target(), preview.DeploymentID), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("preview deployment after stop: %v", err)
			}
			if st := status(t, r, handles[staging.DeploymentID]); st.Health != sdk.HealthHealthy {
				t.Errorf("staging after the preview stopped: %+v", st)
			}

			// A superseded deployment's stop leaves the route to its successor.
			next := request(project, "20261205-060003")
			next.Environment = "staging"
			next.Previous = handles[staging.DeploymentID]
			nh := deploy(t, r, next)
			markAvailable(t, cs, r, next)
			if st := status(t, r, nh); st.Health != sdk.HealthHealthy {
				t.Fatalf("next staging: %+v", st)
			}
			if err := r.Stop(ctx(t), handles[staging.DeploymentID], nil); err != nil {
				t.Fatalf("stop superseded staging: %v", err)
			}
			if got := hosts(); len(got) != 2 {
				t.Fatalf("ingress hosts after a superseded stop = %v", got)
			}
			if err := r.Destroy(ctx(t), project, nil); err != nil {
				t.Fatalf("destroy: %v", err)
			}
		})
	}
}
