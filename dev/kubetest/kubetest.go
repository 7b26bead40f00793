// Package kubetest starts a real Kubernetes control plane on loopback for
// tests: etcd and kube-apiserver, and on request kube-controller-manager,
// kube-scheduler and KWOK (fake nodes whose pods "run"), so Deployments roll
// out like on a real cluster without a kubelet.
//
// Binaries come from dev/kube/build.sh (built from the Go module proxy into
// ~/.cache/rise-dev/kube-<version>, or $RISE_KUBE_BIN_DIR). If they are
// missing the helper builds them (minutes, once per machine); if that fails,
// tests fail under RISE_REQUIRE_REAL=1 (`make test`, CI) and are skipped
// otherwise (see dev/realpart).
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//	func TestX(t *testing.T) { c := kubetest.Start(t); ... c.Kubeconfig ... }
package kubetest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/riseplatform/rise/dev/realpart"
)

// Version is the Kubernetes version dev/kube/build.sh builds.
const Version = "v1.32.3"

// Cluster is a running control plane. Clusters are shared by all tests of a
// test binary: use a fresh namespace (or project name) per test.
type Cluster struct {
	URL        string // https://127.0.0.1:<port>
	Token      string // bearer token of a system:masters user
	Kubeconfig string // path of a kubeconfig file for that user
	Dir        string // state directory (logs: *.log)
	// PodLogFile is, in a full cluster, the log every fake pod serves
	// unless given its own (SetPodLog).
	PodLogFile string

	procs []*proc
}

// RestConfig returns a client configuration for the admin user.
func (c *Cluster) RestConfig() *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     c.Token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             200,
		Burst:           400,
	}
}

// Client returns an admin clientset.
func (c *Cluster) Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		t.Fatalf("kubetest: client: %v", err)
	}
	return cs
}

var (
	mu      sync.Mutex
	bare    *Cluster
	bareErr error
	full    *Cluster
	fullErr error
)

// Start returns the test binary's shared control plane (etcd +
// kube-apiserver, no controllers: nothing reconciles Deployments, tests
// write object status themselves). If the binaries cannot be built the test
// fails under RISE_REQUIRE_REAL=1 and is skipped otherwise.
func Start(t testing.TB) *Cluster {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if bare == nil && bareErr == nil {
		bare, bareErr = startCluster(false)
	}
	return use(t, bare, bareErr)
}

// StartFull returns the test binary's shared full cluster: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and KWOK managing
// one fake node, so Deployments become Available with fake running pods. It
// is separate from Start's cluster.
func StartFull(t testing.TB) *Cluster {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if full == nil && fullErr == nil {
		full, fullErr = startCluster(true)
	}
	return use(t, full, fullErr)
}

func use(t testing.TB, c *Cluster, err error) *Cluster {
	t.Helper()
	if err != nil {
		if se, ok := err.(skipError); ok {
			realpart.Missing(t, "Kubernetes control plane", se.err)
		}
		t.Fatalf("kubetest: %v", err)
	}
	return c
}

// Main runs the tests and stops the clusters afterwards.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops every cluster this process started.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	for _, c := range []*Cluster{full, bare} {
		if c != nil {
			c.stop()
		}
	}
	full, bare = nil, nil
}

func (c *Cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	if os.Getenv("RISE_KUBETEST_KEEP") == "" {
		os.RemoveAll(c.Dir)
	}
}

type skipError struct{ err error }

func (e skipError) Error() string { return e.err.Error() }

// BinDir is where the control-plane binaries are (or will be built).
func BinDir() string {
	if d := os.Getenv("RISE_KUBE_BIN_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "rise-dev", "kube-"+Version)
}

// repoRoot finds the repository from this file's location.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the kubetest source file")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "dev", "kube", "build.sh")); err != nil {
		return "", fmt.Errorf("dev/kube/build.sh not found from %s: %w", file, err)
	}
	return root, nil
}
