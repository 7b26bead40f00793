package kubernetes

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDeployObjects deploys with every feature on and checks what the real
// API server stored (it validated every object on the way in).
func TestDeployObjects(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c, func(r *Runtime) {
		r.CertManagerIssuer = "letsencrypt"
		r.Labels = map[string]string{"team": "platform"}
		r.Annotations = map[string]string{"example.com/owner": "platform"}
		r.EdgeService = "rise.rise-system.svc.cluster.local"
	})
	project := uniqueProject("full")
	req := request(project, "20261123-142501")
	req.Visibility = "private"
	req.Workload.Replicas = 2
	req.Workload.Env = map[string]string{"LOG_LEVEL": "debug"}
	req.Workload.SecretEnv = map[string]string{"DATABASE_URL": "postgres://u:p@db/app"}
	req.Workload.Resources = sdk.Resources{CPU: "250m", Memory: "128Mi"}
	req.Workload.Command = []string{"serve", "--port=8080"}
	req.Artifact.Digest = "sha256:" + strings.Repeat("ab", 32)
	req.PullCredentials = &sdk.Credentials{Registry: "registry.example.com", Repository: testImage,
		Username: "pull", Password: "s3cret", ExpiresAt: time.Now().Add(time.Hour)}

	d := deploy(t, r, req)
	if len(d.URLs) != 1 || d.URLs[0] != "https://"+project+".apps.example.com" {
		t.Errorf("URLs = %v", d.URLs)
	}
	ns := "rise-" + project

	nsObj, err := cs.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace: %v", err)
	}
	wantLabels(t, "namespace", nsObj.Labels, map[string]string{LabelManagedBy: "rise", LabelProject: project,
		"team": "platform", "pod-security.kubernetes.io/enforce": "restricted"})

	dep := getDeployment(t, cs, r, req)
	wantLabels(t, "deployment", dep.Labels, map[string]string{LabelManagedBy: "rise", LabelProject: project,
		LabelDeployment: req.DeploymentID, "team": "platform"})
	if dep.Annotations["example.com/owner"] != "platform" {
		t.Errorf("deployment annotations = %v", dep.Annotations)
	}
	if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas = %d", *dep.Spec.Replicas)
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update = %+v, want maxUnavailable 0", ru)
	}
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]
	if ctr.Image != testImage+"@"+req.Artifact.Digest {
		t.Errorf("image = %q, want the digest-pinned reference", ctr.Image)
	}
	if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != dep.Name+"-pull" {
		t.Errorf("imagePullSecrets = %v", pod.ImagePullSecrets)
	}
	if p := pod.Containers[0].ImagePullPolicy; p != corev1.PullAlways {
		t.Errorf("imagePullPolicy = %s: a node's cached copy would run without the kubelet checking the pull Secret", p)
	}
	sc := ctr.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault ||
		len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context = %+v", sc)
	}
	if p := ctr.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("readiness probe = %+v", p)
	}
	if p := ctr.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe = %+v", p)
	}
	if got := ctr.Resources.Limits.Cpu().String(); got != "250m" {
		t.Errorf("cpu limit = %s", got)
	}
	if got := ctr.Resources.Requests.Memory().String(); got != "128Mi" {
		t.Errorf("memory request = %s", got)
	}
	if strings.Join(ctr.Args, " ") != "serve --port=8080" {
		t.Errorf("args = %v", ctr.Args)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		env[e.Name] = e
	}
	if env["LOG_LEVEL"].Value != "debug" || env["PORT"].Value != "8080" {
		t.Errorf("env = %+v", ctr.Env)
	}
	if e := env["DATABASE_URL"]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != dep.Name+"-env" {
		t.Errorf("secret env DATABASE_URL = %+v, want a secretKeyRef and no plain value", e)
	}
	if managers := managersOf(dep.ManagedFields); managers["rise"] != "Apply" {
		t.Errorf("managed fields = %v, want server-side apply by field manager rise", managers)
	}

	envSecret, err := cs.CoreV1().Secrets(ns).Get(ctx(t), dep.Name+"-env", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("env secret: %v", err)
	}
	if string(envSecret.Data["DATABASE_URL"]) != "postgres://u:p@db/app" {
		t.Errorf("env secret data = %v", envSecret.Data)
	}
	// The Secret is rise's (labels, server-side apply by rise), and neither
	// the Deployment nor its pod template holds the value.
	wantLabels(t, "env secret", envSecret.Labels, map[string]string{LabelManagedBy: "rise", LabelProject: project,
		LabelDeployment: req.DeploymentID})
	if managers := managersOf(envSecret.ManagedFields); managers["rise"] != "Apply" {
		t.Errorf("env secret managed fields = %v, want server-side apply by field manager rise", managers)
	}
	if raw, err := json.Marshal(dep); err != nil || strings.Contains(string(raw), "postgres://u:p@db/app") ||
		strings.Contains(string(raw), base64.StdEncoding.EncodeToString([]byte("postgres://u:p@db/app"))) {
		t.Errorf("the Deployment object holds the secret value (%v)", err)
	}
	pull, err := cs.CoreV1().Secrets(ns).Get(ctx(t), dep.Name+"-pull", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pull secret: %v", err)
	}
	var dockercfg struct {
		Auths map[string]struct{ Username, Password string } `json:"auths"`
	}
	if pull.Type != corev1.SecretTypeDockerConfigJson || json.Unmarshal(pull.Data[corev1.DockerConfigJsonKey], &dockercfg) != nil ||
		dockercfg.Auths["registry.example.com"].Password != "s3cret" {
		t.Errorf("pull secret = %s %s", pull.Type, pull.Data[corev1.DockerConfigJsonKey])
	}

	svc, err := cs.CoreV1().Services(ns).Get(ctx(t), project, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("service: %v", err)
	}
	if svc.Spec.Selector[LabelDeployment] != req.DeploymentID || svc.Spec.Ports[0].TargetPort.IntValue() != 8080 {
		t.Errorf("service selector %v ports %+v", svc.Spec.Selector, svc.Spec.Ports)
	}

	ing, err := cs.NetworkingV1().Ingresses(ns).Get(ctx(t), project, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ingress: %v", err)
	}
	host := project + ".apps.example.com"
	if ing.Spec.Rules[0].Host != host || *ing.Spec.IngressClassName != "nginx" ||
		ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != project {
		t.Errorf("ingress spec = %+v", ing.Spec)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].Hosts[0] != host || ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" {
		t.Errorf("ingress TLS %+v annotations %v", ing.Spec.TLS, ing.Annotations)
	}
	if got := ing.Annotations["nginx.ingress.kubernetes.io/auth-url"]; got != "https://rise.example.com/api/v1/ingress/auth?project="+project {
		t.Errorf("private ingress auth-url = %q", got)
	}
	if got := ing.Annotations["nginx.ingress.kubernetes.io/auth-signin"]; !strings.HasPrefix(got, "https://rise.example.com/auth/login?rd=") {
		t.Errorf("private ingress auth-signin = %q", got)
	}

	// The app host's /.rise/ paths (login callback) go to rise, unauthenticated.
	edge, err := cs.NetworkingV1().Ingresses(ns).Get(ctx(t), project+"-rise-edge", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("edge ingress: %v", err)
	}
	if p := edge.Spec.Rules[0].HTTP.Paths[0]; edge.Spec.Rules[0].Host != host || p.Path != "/.rise/" ||
		p.Backend.Service.Name != project+"-rise-edge" || p.Backend.Service.Port.Number != 80 {
		t.Errorf("edge ingress rule = %+v", edge.Spec.Rules[0])
	}
	for k := range edge.Annotations {
		if strings.Contains(k, "auth-") {
			t.Errorf("edge ingress has auth annotation %s: the login callback would loop", k)
		}
	}
	edgeSvc, err := cs.CoreV1().Services(ns).Get(ctx(t), project+"-rise-edge", metav1.GetOptions{})
	if err != nil || edgeSvc.Spec.Type != corev1.ServiceTypeExternalName || edgeSvc.Spec.ExternalName != "rise.rise-system.svc.cluster.local" {
		t.Fatalf("edge service: %v %+v", err, edgeSvc)
	}

	nps, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx(t), metav1.ListOptions{LabelSelector: LabelProject + "=" + project})
	if err != nil || len(nps.Items) != 2 {
		t.Fatalf("network policies: %v %v", err, nps)
	}
	for _, np := range nps.Items {
		switch np.Name {
		case project + "-ingress":
			if from := np.Spec.Ingress[0].From; from[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "ingress-nginx" {
				t.Errorf("network policy peers = %+v", from)
			}
		case project + "-egress":
			if len(np.Spec.Egress) != 3 { // DNS, own pods, internet (TestEgressPolicy checks what they allow)
				t.Errorf("egress rules = %+v", np.Spec.Egress)
			}
		default:
			t.Errorf("unexpected network policy %s", np.Name)
		}
	}
}

// TestPrivateToPublic: going public drops the auth annotations (server-side
// apply removes fields the manager no longer sets).
func TestPrivateToPublic(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c, func(r *Runtime) { r.EdgeService = "rise.rise-system.svc:8080" })
	project := uniqueProject("vis")
	req := request(project, "1")
	req.Visibility = "private"
	deploy(t, r, req)
	edge, err := cs.NetworkingV1().Ingresses("rise-"+project).Get(ctx(t), project+"-rise-edge", metav1.GetOptions{})
	if err != nil || edge.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number != 8080 {
		t.Fatalf("private project's edge ingress: %v", err)
	}
	req = request(project, "2")
	req.Previous = nil
	deploy(t, r, req)
	ing, err := cs.NetworkingV1().Ingresses("rise-"+project).Get(ctx(t), project, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ingress: %v", err)
	}
	for k := range ing.Annotations {
		if strings.Contains(k, "auth-") {
			t.Errorf("public project's ingress still has %s", k)
		}
	}
	if _, err := cs.NetworkingV1().Ingresses("rise-"+project).Get(ctx(t), project+"-rise-edge", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("public project still routes /.rise/ to rise (err %v)", err)
	}
}

// TestInvalidObjectRejected: what the API server rejects comes back as a
// permanent error, never silently ignored.
func TestInvalidObjectRejected(t *testing.T) {
	c := kubetest.Start(t)
	r := newRuntime(t, c)
	req := request(uniqueProject("bad"), "1")
	req.Workload.Env = map[string]string{"A=B": "x"} // '=' is never valid in an env var name
	_, err := r.Deploy(ctx(t), req, nil)
	if err == nil || !sdk.IsPermanent(err) || !apierrors.IsInvalid(err) {
		t.Fatalf("Deploy with an invalid env name: %v, want a permanent Invalid error", err)
	}
	req = request(uniqueProject("bad"), "1")
	req.Workload.Resources.Memory = "lots"
	if _, err := r.Deploy(ctx(t), req, nil); err == nil || !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("Deploy with memory=lots: %v, want a permanent error naming memory", err)
	}
}

// TestRedeployIdempotent: Deploy again after a "restart" (a new Runtime,
// no cache) changes nothing on the server.
func TestRedeployIdempotent(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	req := request(uniqueProject("idem"), "20261123-1")
	req.Workload.SecretEnv = map[string]string{"TOKEN": "t"}
	d1 := deploy(t, newRuntime(t, c), req)
	before := getDeployment(t, cs, newRuntime(t, c), req)
	d2 := deploy(t, newRuntime(t, c), req)
	after := getDeployment(t, cs, newRuntime(t, c), req)
	if before.ResourceVersion != after.ResourceVersion || before.Generation != after.Generation {
		t.Errorf("re-Deploy changed the Deployment: rv %s→%s gen %d→%d",
			before.ResourceVersion, after.ResourceVersion, before.Generation, after.Generation)
	}
	if string(d1.State) != string(d2.State) || d1.ID != d2.ID {
		t.Errorf("re-Deploy returned different state: %s vs %s", d1.State, d2.State)
	}
}

func wantLabels(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s label %s = %q, want %q (all: %v)", what, k, got[k], v, got)
		}
	}
}

func managersOf(mf []metav1.ManagedFieldsEntry) map[string]string {
	m := map[string]string{}
	for _, e := range mf {
		if e.Subresource == "" {
			m[e.Manager] = string(e.Operation)
		}
	}
	return m
}
