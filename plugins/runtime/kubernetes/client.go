package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig builds the client configuration from the runtime's settings.
func (r *Runtime) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if r.InCluster {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster Kubernetes config (is rise running in a pod with a service account?): %w", err)
		}
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if r.Kubeconfig != "" {
			rules.ExplicitPath = expandHome(r.Kubeconfig)
		}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: r.Context}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", r.Kubeconfig, err)
		}
	}
	cfg.QPS = float32(r.QPS)
	cfg.Burst = r.Burst
	cfg.UserAgent = "rise-runtime-kubernetes"
	return cfg, nil
}

// clientset returns the cluster client, made on first use.
func (r *Runtime) clientset() (kubernetes.Interface, error) {
	r.once.Do(func() {
		if r.client != nil {
			return
		}
		cfg, err := r.restConfig()
		if err != nil {
			r.initErr = err
			return
		}
		r.client, r.initErr = kubernetes.NewForConfig(cfg)
		if r.initErr != nil {
			r.initErr = fmt.Errorf("kubernetes client: %w", r.initErr)
		}
	})
	return r.client, r.initErr
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// appliedCache remembers, per object, the digest of the last configuration
// this process applied successfully, so per-project objects (namespace,
// ingress, network policy) are not re-sent on every deployment. Entries
// expire so that drift (an object deleted by hand) heals within appliedTTL.
type appliedCache struct {
	mu sync.Mutex
	m  map[string]appliedEntry
}

type appliedEntry struct {
	digest string
	at     time.Time
}

const appliedTTL = 5 * time.Minute

func (c *appliedCache) fresh(key, digest string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return ok && e.digest == digest && time.Since(e.at) < appliedTTL
}

func (c *appliedCache) store(key, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]appliedEntry)
	}
	c.m[key] = appliedEntry{digest: digest, at: time.Now()}
}

// forgetPrefix drops every entry whose key starts with prefix (a namespace).
func (c *appliedCache) forgetPrefix(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if strings.HasPrefix(k, prefix) {
			delete(c.m, k)
		}
	}
}
