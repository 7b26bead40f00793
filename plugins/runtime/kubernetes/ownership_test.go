package kubernetes

import (
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNamespaceOwnership: a namespace that happens to be named like a
// project's (another team's, or one rise made for a different project) is
// neither adopted by Deploy nor deleted by Destroy.
func TestNamespaceOwnership(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c)

	for name, labels := range map[string]map[string]string{
		"unlabelled":    nil,
		"other-project": {LabelManagedBy: managedBy, LabelProject: "someone-else"},
		"not-rise":      {LabelManagedBy: "helm", LabelProject: "x"},
	} {
		t.Run(name, func(t *testing.T) {
			project := uniqueProject("own")
			ns := r.namespaceFor(project)
			if labels != nil {
				labels[LabelProject] = strings.Replace(labels[LabelProject], "x", project, 1)
			}
			_, err := cs.CoreV1().Namespaces().Create(ctx(t), &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(ctx(t), ns, metav1.DeleteOptions{}) })

			_, err = r.Deploy(ctx(t), request(project, "1"), nil)
			if err == nil || !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "does not adopt") {
				t.Fatalf("deploy into a foreign namespace: %v", err)
			}
			got, err := cs.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range got.Labels {
				if k != corev1.LabelMetadataName && labels[k] != v {
					t.Errorf("namespace label %s=%s added or changed", k, v)
				}
			}
			if l, _ := cs.AppsV1().Deployments(ns).List(ctx(t), metav1.ListOptions{}); len(l.Items) != 0 {
				t.Errorf("%d Deployments written into the foreign namespace", len(l.Items))
			}

			if err := r.Destroy(ctx(t), project, nil); err != nil {
				t.Fatalf("destroy: %v", err)
			}
			got, err = cs.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
			if err != nil || got.DeletionTimestamp != nil {
				t.Fatalf("destroy deleted namespace %s it did not create: %v", ns, err)
			}
		})
	}

	// Control: rise's own namespace is deleted.
	project := uniqueProject("own")
	deploy(t, r, request(project, "1"))
	if err := r.Destroy(ctx(t), project, nil); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().Namespaces().Get(ctx(t), r.namespaceFor(project), metav1.GetOptions{})
	if err == nil && got.DeletionTimestamp == nil {
		t.Fatalf("destroy left rise's namespace %s", got.Name)
	}
}
