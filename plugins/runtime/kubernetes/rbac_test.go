package kubernetes

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

const manifestDir = "../../../deploy/kubernetes"

// TestManifests creates every object of the kustomize base on the real API
// server, then runs a whole deployment cycle as the base's service account:
// the RBAC rules in deploy/kubernetes are exactly enough.
func TestManifests(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	for _, obj := range readManifests(t) {
		if err := create(t, cs, obj); err != nil {
			t.Fatalf("create %T from deploy/kubernetes: %v", obj, err)
		}
	}

	cfg := c.RestConfig()
	cfg.Impersonate.UserName = "system:serviceaccount:rise-system:rise"
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t, c)
	r.client = sa
	project := uniqueProject("rbac")
	req := request(project, "1")
	req.Visibility = "private"
	req.Workload.SecretEnv = map[string]string{"K": "v"}
	req.PullCredentials = &sdk.Credentials{Registry: "registry.example.com", Username: "u", Password: "p"}
	d := deploy(t, r, req)
	markAvailable(t, cs, r, req)
	if s := status(t, r, d); s.Health != sdk.HealthHealthy {
		t.Fatalf("status as the rise service account: %v %s", s.Health, s.Message)
	}
	req2 := request(project, "2")
	req2.Previous = d
	d2 := deploy(t, r, req2)
	markAvailable(t, cs, r, req2)
	status(t, r, d2) // switches the service, scales "1" away
	if err := r.Logs(ctx(t), d2, sdk.LogOptions{}, func(sdk.LogLine) error { return nil }); err != nil {
		t.Fatalf("logs as the rise service account: %v", err)
	}
	if err := r.Stop(ctx(t), d, nil); err != nil {
		t.Fatalf("stop as the rise service account: %v", err)
	}
	if err := r.Destroy(ctx(t), project, nil); err != nil {
		t.Fatalf("destroy as the rise service account: %v", err)
	}
	// And no more than that: it cannot read RBAC objects, for one.
	_, err = sa.RbacV1().ClusterRoles().List(ctx(t), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("the rise service account may list cluster roles (err %v); RBAC is too broad", err)
	}
}

func readManifests(t *testing.T) []runtime.Object {
	t.Helper()
	kust, err := os.ReadFile(filepath.Join(manifestDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The resources list: "- file.yaml" lines after "resources:".
	m := regexp.MustCompile(`(?s)resources:\n((?:- [^\n]+\n)+)`).FindSubmatch(kust)
	if m == nil {
		t.Fatal("no resources in deploy/kubernetes/kustomization.yaml")
	}
	var objs []runtime.Object
	for _, line := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
		file := strings.TrimSpace(strings.TrimPrefix(line, "- "))
		b, err := os.ReadFile(filepath.Join(manifestDir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(b, []byte("\n---\n")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("decode %s: %v", file, err)
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

func create(t *testing.T, cs kubernetes.Interface, obj runtime.Object) error {
	c, o := ctx(t), metav1.CreateOptions{}
	var err error
	switch v := obj.(type) {
	case *corev1.Namespace:
		_, err = cs.CoreV1().Namespaces().Create(c, v, o)
	case *corev1.ServiceAccount:
		_, err = cs.CoreV1().ServiceAccounts(v.Namespace).Create(c, v, o)
	case *corev1.ConfigMap:
		_, err = cs.CoreV1().ConfigMaps(v.Namespace).Create(c, v, o)
	case *corev1.Service:
		_, err = cs.CoreV1().Services(v.Namespace).Create(c, v, o)
	case *rbacv1.ClusterRole:
		_, err = cs.RbacV1().ClusterRoles().Create(c, v, o)
	case *rbacv1.ClusterRoleBinding:
		_, err = cs.RbacV1().ClusterRoleBindings().Create(c, v, o)
	case *appsv1.Deployment:
		_, err = cs.AppsV1().Deployments(v.Namespace).Create(c, v, o)
	case *networkingv1.Ingress:
		_, err = cs.NetworkingV1().Ingresses(v.Namespace).Create(c, v, o)
	default:
		return errors.New("unexpected kind; teach this test to create it")
	}
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
