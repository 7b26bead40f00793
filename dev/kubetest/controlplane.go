package kubetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/riseplatform/rise/dev/devnet"
)

// ensureBinaries builds what is missing with dev/kube/build.sh.
func ensureBinaries(withControllers bool) (string, error) {
	dir := BinDir()
	names := []string{"etcd", "kube-apiserver"}
	what := "apiserver"
	if withControllers {
		names = append(names, "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml")
		what = "all"
	}
	missing := false
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			missing = true
		}
	}
	if !missing {
		return dir, nil
	}
	if os.Getenv("RISE_KUBE_BIN_DIR") != "" {
		return "", skipError{fmt.Errorf("the Kubernetes binaries are missing in RISE_KUBE_BIN_DIR=%s (need %v)", dir, names)}
	}
	root, err := repoRoot()
	if err != nil {
		return "", skipError{err}
	}
	fmt.Fprintf(os.Stderr, "kubetest: building Kubernetes %s control-plane binaries into %s (first run only, takes minutes)...\n", Version, dir)
	cmd := exec.Command("bash", filepath.Join(root, "dev", "kube", "build.sh"), what)
	cmd.Env = append(os.Environ(), "RISE_KUBE_CACHE="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", skipError{fmt.Errorf("cannot build the Kubernetes binaries with dev/kube/build.sh: %v\n%s", err, out)}
	}
	return dir, nil
}

func startCluster(withControllers bool) (c *Cluster, err error) {
	bin, err := ensureBinaries(withControllers)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rise-kubetest-")
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	c = &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()

	// etcd
	etcdPort, err := devnet.FreePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := devnet.FreePort()
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcd, err := startProc(dir, "etcd", filepath.Join(bin, "etcd"),
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
		"--log-level", "warn")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, etcd)
	if err := waitFor(etcd, 30*time.Second, func() error { return httpOK(etcdURL+"/health", "") }); err != nil {
		return nil, err
	}

	// kube-apiserver
	if err := writeServiceAccountKey(dir); err != nil {
		return nil, err
	}
	c.Token = randomHex(16)
	tokens := fmt.Sprintf("%s,admin,admin,system:masters\n", c.Token)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return nil, fmt.Errorf("write tokens.csv: %w", err)
	}
	port, err := devnet.FreePort()
	if err != nil {
		return nil, err
	}
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", port)
	api, err := startProc(dir, "kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount",
		"--max-requests-inflight", "1000",
		"--max-mutating-requests-inflight", "500",
		"--enable-priority-and-fairness=false",
		"--kubelet-preferred-address-types", "InternalIP",
		// etcd 3.4.23 cannot do watch progress requests: refuse streaming
		// watch-lists outright so clients fall back to list+watch at once.
		"--feature-gates", "WatchList=false",
		"--v", "0")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, api)
	if err := waitFor(api, 90*time.Second, func() error { return httpOK(c.URL+"/readyz", c.Token) }); err != nil {
		return nil, err
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig(c.URL, c.Token)), 0o600); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	if withControllers {
		if err := c.startControllers(bin); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func httpOK(url, token string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test server with a self-signed cert
	}}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func writeServiceAccountKey(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), priv, 0o600); err != nil {
		return fmt.Errorf("write sa.key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return fmt.Errorf("write sa.pub: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func kubeconfig(url, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: admin
current-context: kubetest
`, url, token)
}
