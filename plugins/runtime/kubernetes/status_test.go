package kubernetes

import (
	"errors"
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSupersede: the Service moves to the new deployment only once it is
// ready, and only then is the previous one scaled to zero.
func TestSupersede(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c)
	project := uniqueProject("sup")
	ns := "rise-" + project
	serving := func() string {
		t.Helper()
		svc, err := cs.CoreV1().Services(ns).Get(ctx(t), project, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("service: %v", err)
		}
		if svc.Spec.Selector[LabelDeployment] != svc.Annotations[annotationTarget] {
			t.Fatalf("service selector %v disagrees with annotation %q", svc.Spec.Selector, svc.Annotations[annotationTarget])
		}
		return svc.Spec.Selector[LabelDeployment]
	}

	reqA := request(project, "20261123-100000")
	a := deploy(t, r, reqA)
	if got := serving(); got != reqA.DeploymentID {
		t.Fatalf("first deployment: service routes to %q", got)
	}
	if s := status(t, r, a); s.Health != sdk.HealthPending {
		t.Fatalf("A before ready: %v %s", s.Health, s.Message)
	}
	markAvailable(t, cs, r, reqA)
	if s := status(t, r, a); s.Health != sdk.HealthHealthy {
		t.Fatalf("A ready: %v %s", s.Health, s.Message)
	}

	reqB := request(project, "20261123-110000")
	reqB.Workload.Port = 9090
	reqB.Previous = a
	b := deploy(t, r, reqB)
	if got := serving(); got != reqA.DeploymentID {
		t.Fatalf("service moved to %q before B was ready", got)
	}
	if s := status(t, r, b); s.Health != sdk.HealthPending {
		t.Fatalf("B before ready: %v %s", s.Health, s.Message)
	}
	if got := serving(); got != reqA.DeploymentID {
		t.Fatalf("Status of an unready B moved the service to %q", got)
	}
	if dep := getDeployment(t, cs, r, reqA); *dep.Spec.Replicas != 1 {
		t.Fatalf("A scaled to %d while B is not ready", *dep.Spec.Replicas)
	}

	markAvailable(t, cs, r, reqB)
	if s := status(t, r, b); s.Health != sdk.HealthHealthy {
		t.Fatalf("B ready: %v %s", s.Health, s.Message)
	}
	if got := serving(); got != reqB.DeploymentID {
		t.Fatalf("after B is ready the service routes to %q", got)
	}
	svc, _ := cs.CoreV1().Services(ns).Get(ctx(t), project, metav1.GetOptions{})
	if svc.Spec.Ports[0].TargetPort.IntValue() != 9090 {
		t.Errorf("service target port = %v, want B's 9090", svc.Spec.Ports[0].TargetPort)
	}
	if dep := getDeployment(t, cs, r, reqA); *dep.Spec.Replicas != 0 {
		t.Fatalf("A not scaled away after the switch: replicas %d", *dep.Spec.Replicas)
	}
	if s := status(t, r, a); s.Health != sdk.HealthStopped {
		t.Errorf("A after supersede: %v %s", s.Health, s.Message)
	}

	// A late Status of A (or a retried Deploy of B) must not move traffic back.
	reqB2 := *reqB
	deploy(t, r, &reqB2)
	if got := serving(); got != reqB.DeploymentID {
		t.Fatalf("re-Deploy of B moved the service to %q", got)
	}
}

// TestFailedPodStates: irrecoverable container states end the deployment
// Failed with the reason, instead of waiting for a timeout.
func TestFailedPodStates(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c)
	for i, reason := range []string{"CrashLoopBackOff", "ImagePullBackOff", "CreateContainerConfigError"} {
		t.Run(reason, func(t *testing.T) {
			project := uniqueProject("fail")
			req := request(project, "d"+string(rune('1'+i)))
			d := deploy(t, r, req)
			dep := getDeployment(t, cs, r, req)

			// A pod as the ReplicaSet controller would make it (it passes the
			// namespace's restricted pod security admission), then the status
			// a kubelet would report.
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: dep.Name + "-abc12", Labels: dep.Spec.Template.Labels},
				Spec:       dep.Spec.Template.Spec,
			}
			pod, err := cs.CoreV1().Pods(dep.Namespace).Create(ctx(t), pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create pod: %v", err)
			}
			if s := status(t, r, d); s.Health != sdk.HealthPending {
				t.Fatalf("before the failure: %v %s", s.Health, s.Message)
			}
			pod.Status.Phase = corev1.PodRunning
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name: containerName, Image: pod.Spec.Containers[0].Image, RestartCount: 5,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "back-off restarting failed container"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}},
			}}
			if _, err := cs.CoreV1().Pods(dep.Namespace).UpdateStatus(ctx(t), pod, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("update pod status: %v", err)
			}
			s := status(t, r, d)
			if s.Health != sdk.HealthFailed || !strings.Contains(s.Message, reason) {
				t.Fatalf("Status = %v %q, want failed with %s", s.Health, s.Message, reason)
			}
			t.Logf("message: %s", s.Message)
		})
	}
}

// TestUnhealthyAfterReady: losing replicas after the rollout completed is
// Unhealthy, not Pending.
func TestUnhealthyAfterReady(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c)
	req := request(uniqueProject("unh"), "1")
	d := deploy(t, r, req)
	markAvailable(t, cs, r, req)
	if s := status(t, r, d); s.Health != sdk.HealthHealthy {
		t.Fatalf("%v %s", s.Health, s.Message)
	}
	dep := getDeployment(t, cs, r, req)
	dep.Status.AvailableReplicas, dep.Status.ReadyReplicas = 0, 0
	if _, err := cs.AppsV1().Deployments(dep.Namespace).UpdateStatus(ctx(t), dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := status(t, r, d); s.Health != sdk.HealthUnhealthy {
		t.Fatalf("after losing replicas: %v %s", s.Health, s.Message)
	}
}

// TestStopAndDestroy: Stop removes the deployment's objects (idempotently);
// Destroy deletes the project's namespace.
func TestStopAndDestroy(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c)
	project := uniqueProject("stop")
	ns := "rise-" + project
	req := request(project, "1")
	req.Workload.SecretEnv = map[string]string{"K": "v"}
	req.PullCredentials = &sdk.Credentials{Registry: "registry.example.com", Username: "u", Password: "p"}
	d := deploy(t, r, req)
	for range 2 {
		if err := r.Stop(ctx(t), d, nil); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	}
	if _, err := r.Status(ctx(t), d); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("Status after Stop: %v, want ErrNotFound", err)
	}
	secrets, err := cs.CoreV1().Secrets(ns).List(ctx(t), metav1.ListOptions{LabelSelector: LabelDeployment + "=1"})
	if err != nil || len(secrets.Items) != 0 {
		t.Fatalf("secrets left after Stop: %v %d", err, len(secrets.Items))
	}

	if err := r.Destroy(ctx(t), project, nil); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	got, err := cs.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
	if err == nil && got.DeletionTimestamp == nil {
		t.Fatalf("namespace %s not being deleted after Destroy", ns)
	} else if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	if err := r.Destroy(ctx(t), project, nil); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
	// No namespace controller here: the namespace stays Terminating, and a
	// Deploy into it fails retryably (it would work once it is gone).
	_, err = r.Deploy(ctx(t), request(project, "2"), nil)
	if err == nil || sdk.IsPermanent(err) || !strings.Contains(err.Error(), "being deleted") {
		t.Fatalf("Deploy into a terminating namespace: %v, want a retryable error", err)
	}
}

// TestDestroySharedNamespace: with one namespace for all projects, Destroy
// deletes only the project's objects.
func TestDestroySharedNamespace(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	shared := uniqueProject("shared")
	r := newRuntime(t, c, func(r *Runtime) { r.NamespaceFormat = shared })
	p1, p2 := uniqueProject("one"), uniqueProject("two")
	deploy(t, r, request(p1, "1"))
	deploy(t, r, request(p2, "1"))
	if err := r.Destroy(ctx(t), p1, nil); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for _, p := range []struct {
		project string
		want    int
	}{{p1, 0}, {p2, 1}} {
		sel := metav1.ListOptions{LabelSelector: LabelProject + "=" + p.project}
		deps, _ := cs.AppsV1().Deployments(shared).List(ctx(t), sel)
		svcs, _ := cs.CoreV1().Services(shared).List(ctx(t), sel)
		ings, _ := cs.NetworkingV1().Ingresses(shared).List(ctx(t), sel)
		if len(deps.Items) != p.want || len(svcs.Items) != p.want || len(ings.Items) != p.want {
			t.Errorf("project %s: %d deployments, %d services, %d ingresses; want %d each",
				p.project, len(deps.Items), len(svcs.Items), len(ings.Items), p.want)
		}
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx(t), shared, metav1.GetOptions{}); err != nil {
		t.Errorf("shared namespace: %v", err)
	}
}
