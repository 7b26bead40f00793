package kubetest

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/riseplatform/rise/dev/devnet"
)

// FakeNode is the node KWOK manages in a full cluster.
const FakeNode = "kwok-node-0"

func (c *Cluster) startControllers(bin string) error {
	kcm, err := startProc(c.Dir, "kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig", c.Kubeconfig,
		"--controllers", "*",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file", filepath.Join(c.Dir, "sa.key"),
		"--secure-port=0",
		"--concurrent-deployment-syncs=20",
		"--concurrent-replicaset-syncs=20",
		"--kube-api-qps=200", "--kube-api-burst=400",
		"--v", "0")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, kcm)
	sched, err := startProc(c.Dir, "kube-scheduler", filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig", c.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps=200", "--kube-api-burst=400",
		"--v", "0")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, sched)

	stages := filepath.Join(bin, "kwok-stages.yaml")
	logsCfg, err := c.writePodLogs()
	if err != nil {
		return err
	}
	cert, key, err := writeServingCert(c.Dir)
	if err != nil {
		return err
	}
	dc, err := dynamic.NewForConfig(c.RestConfig())
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	crdCtx, crdCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer crdCancel()
	if err := installLogsCRD(crdCtx, dc); err != nil {
		return err
	}
	kwokPort, err := devnet.FreePort()
	if err != nil {
		return err
	}
	// KWOK also plays the kubelet's HTTPS server (on 127.0.0.1, the fake
	// node's address), so `kubectl logs` of any fake pod serves PodLogFile,
	// or the file of the pod's KWOK Logs object (SetPodLog).
	kwok, err := startProc(c.Dir, "kwok", filepath.Join(bin, "kwok"),
		"--kubeconfig", c.Kubeconfig,
		"--config", stages,
		"--config", logsCfg,
		"--enable-crds", "Logs",
		"--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		"--node-ip", "127.0.0.1",
		fmt.Sprintf("--node-port=%d", kwokPort),
		fmt.Sprintf("--server-address=127.0.0.1:%d", kwokPort),
		"--tls-cert-file", cert,
		"--tls-private-key-file", key,
		"--cidr", "10.244.0.0/16",
		"--v", "0")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, kwok)

	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := createFakeNode(ctx, cs); err != nil {
		return err
	}
	// Ready when KWOK has made the node Ready and the service account
	// controller works (the default namespace has its service account).
	return waitFor(kwok, 90*time.Second, func() error {
		for _, p := range []*proc{kcm, sched} {
			if p.exited() {
				return fmt.Errorf("%s exited\n%s", p.name, p.tail())
			}
		}
		n, err := cs.CoreV1().Nodes().Get(ctx, FakeNode, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
				return err
			}
		}
		return fmt.Errorf("node %s not Ready yet", FakeNode)
	})
}

func createFakeNode(ctx context.Context, cs kubernetes.Interface) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNode,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{"type": "kwok", "kubernetes.io/hostname": FakeNode,
				"kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("4Ti"),
				corev1.ResourcePods: resource.MustParse("10000"),
			},
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("4Ti"),
				corev1.ResourcePods: resource.MustParse("10000"),
			},
		},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create fake node: %w", err)
	}
	return nil
}
