package kubernetes

import (
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waitHealth polls Status until it reports want (the cluster's controllers
// and KWOK do the rollout; nothing is patched by the test).
func waitHealth(t *testing.T, r *Runtime, d *sdk.Deployment, want sdk.Health) *sdk.Status {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last *sdk.Status
	for time.Now().Before(deadline) {
		s, err := r.Status(ctx(t), d)
		if err != nil {
			t.Fatalf("Status(%s): %v", d.ID, err)
		}
		if s.Health == want {
			return s
		}
		if s.Health == sdk.HealthFailed {
			t.Fatalf("Status(%s) failed: %s", d.ID, s.Message)
		}
		last = s
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Status(%s) never became %v; last: %v %q", d.ID, want, last.Health, last.Message)
	return nil
}

// TestRollout runs on a cluster with kube-controller-manager, the scheduler
// and KWOK: Deployments really roll out and become Available.
func TestRollout(t *testing.T) {
	c := kubetest.StartFull(t)
	cs := c.Client(t)
	r := newRuntime(t, c, func(r *Runtime) { r.DisableCache = false })
	project := uniqueProject("roll")
	ns := "rise-" + project

	reqA := request(project, "a")
	reqA.Workload.Replicas = 2
	a := deploy(t, r, reqA)
	s := waitHealth(t, r, a, sdk.HealthHealthy)
	t.Logf("A: %s", s.Message)

	reqB := request(project, "b")
	reqB.Previous = a
	b := deploy(t, r, reqB)
	waitHealth(t, r, b, sdk.HealthHealthy)
	svc, err := cs.CoreV1().Services(ns).Get(ctx(t), project, metav1.GetOptions{})
	if err != nil || svc.Spec.Selector[LabelDeployment] != "b" {
		t.Fatalf("service after B healthy: %v %v", err, svc.Spec.Selector)
	}
	waitHealth(t, r, a, sdk.HealthStopped)
	t.Logf("B healthy, A stopped")
	// The superseded deployment's pods go away for real.
	deadline := time.Now().Add(60 * time.Second)
	for {
		pods, err := cs.CoreV1().Pods(ns).List(ctx(t), metav1.ListOptions{LabelSelector: LabelDeployment + "=a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pods of the superseded deployment remain", len(pods.Items))
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Logf("A's pods gone")
	// Destroy: the namespace controller really removes the namespace.
	if err := r.Destroy(ctx(t), project, nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s still exists 60s after Destroy (err %v)", ns, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestConformance runs the SDK's runtime conformance suite over gRPC
// against the plugin on the full cluster.
func TestConformance(t *testing.T) {
	c := kubetest.StartFull(t)
	project := uniqueProject("conf")
	cfg := map[string]any{"kubeconfig": c.Kubeconfig, "domain": "apps.example.com", "ingress_class": "nginx"}
	sdktest.RuntimeConformance(t, Component(), cfg,
		sdktest.WithProject(project),
		sdktest.WithTimeout(90*time.Second),
		sdktest.WithDeployRequest(func(id string) *sdk.DeployRequest { return request(project, id) }),
		// KWOK's fake pods run no container: nothing answers behind the ingress.
		sdktest.Skip("KWOK pods run no containers", sdktest.CheckReachable, sdktest.CheckStatusObserves),
	)
}
