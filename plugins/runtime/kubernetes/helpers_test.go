package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

const testImage = "registry.example.com/rise/app"

// newRuntime configures a runtime against cluster c the way the host does:
// decoded config, Validate, Provision. Tests that write object status
// themselves and assert the very next Status read directly (DisableCache);
// the watch-fed cache is eventually consistent, see TestCacheReads.
func newRuntime(t *testing.T, c *kubetest.Cluster, mutate ...func(*Runtime)) *Runtime {
	t.Helper()
	r := &Runtime{Kubeconfig: c.Kubeconfig, Domain: "apps.example.com", PublicURL: "https://rise.example.com",
		IngressClass: "nginx", DisableCache: true}
	for _, m := range mutate {
		m(r)
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if err := r.Provision(context.Background()); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return r
}

func uniqueProject(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func request(project, id string) *sdk.DeployRequest {
	return &sdk.DeployRequest{
		DeploymentID: id, Project: project, Group: "default", Visibility: "public",
		Artifact: sdk.Artifact{Repository: testImage, Tag: id},
		Workload: sdk.Workload{Port: 8080, Replicas: 1, HealthPath: "/healthz"},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func deploy(t *testing.T, r *Runtime, req *sdk.DeployRequest) *sdk.Deployment {
	t.Helper()
	ui := &sdktest.RecordingUI{}
	d, err := r.Deploy(ctx(t), req, ui)
	if err != nil {
		t.Fatalf("Deploy(%s/%s): %v (ui: %q)", req.Project, req.DeploymentID, err, ui.Events())
	}
	return d
}

func status(t *testing.T, r *Runtime, d *sdk.Deployment) *sdk.Status {
	t.Helper()
	s, err := r.Status(ctx(t), d)
	if err != nil {
		t.Fatalf("Status(%s): %v", d.ID, err)
	}
	return s
}

func getDeployment(t *testing.T, cs kubernetes.Interface, r *Runtime, req *sdk.DeployRequest) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments(r.namespaceFor(req.Project)).Get(ctx(t),
		r.deploymentName(req.Target(), req.DeploymentID), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Deployment of %s: %v", req.DeploymentID, err)
	}
	return d
}

// markAvailable does what the deployment controller and kubelets would:
// report all replicas updated, ready and available.
func markAvailable(t *testing.T, cs kubernetes.Interface, r *Runtime, req *sdk.DeployRequest) {
	t.Helper()
	d := getDeployment(t, cs, r, req)
	n := *d.Spec.Replicas
	now := metav1.Now()
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
		},
	}
	if _, err := cs.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx(t), d, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update Deployment status: %v", err)
	}
}
