// Package registrytest starts a real OCI registry for tests: Debian's
// docker-registry (distribution 2.8) on a loopback port with filesystem
// storage in a temp dir, optionally with token authentication pointing at a
// given realm (the rise server's token endpoint in production; an httptest
// server in tests).
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/devnet"
	"github.com/riseplatform/rise/dev/realpart"
)

// Binary is the registry executable (package docker-registry).
const Binary = "docker-registry"

// Options configure the registry. Leave Realm empty for an open registry.
type Options struct {
	Realm          string // token endpoint, e.g. http://127.0.0.1:3000/api/v1/registry/token
	Service        string // the token's audience, e.g. rise-registry
	Issuer         string // the token's iss
	RootCertBundle string // PEM file with the certificate(s) signing tokens
}

// Registry is a running registry.
type Registry struct {
	Addr string // 127.0.0.1:port
	Dir  string // storage root

	cmd  *exec.Cmd
	logs *devnet.Buffer
	done chan struct{}
}

// Start starts a registry and stops it when the test ends. When the
// registry is not installed the test fails under RISE_REQUIRE_REAL=1 and is
// skipped otherwise (see dev/realpart); when it cannot start, it fails.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	bin, err := ensureBinary()
	if err != nil {
		realpart.Missing(t, "OCI registry (docker-registry)", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := start(bin, t.TempDir(), opts)
		if err == nil {
			t.Cleanup(r.Stop)
			return r
		}
		lastErr = err
	}
	t.Fatalf("start docker-registry: %v", lastErr)
	return nil
}

// URL returns http://Addr.
func (r *Registry) URL() string { return "http://" + r.Addr }

// Logs returns what the registry logged so far.
func (r *Registry) Logs() string { return r.logs.String() }

// Stop stops the registry.
func (r *Registry) Stop() {
	if r.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
}

func ensureBinary() (string, error) {
	if p, err := exec.LookPath(Binary); err == nil {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("docker-registry is not installed and we are not root; run `apt-get install -y docker-registry`")
	}
	out, err := exec.Command("apt-get", "install", "-y", "-q", "docker-registry").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-get install -y docker-registry: %w: %s", err, lastLines(out))
	}
	return exec.LookPath(Binary)
}

func start(bin, dir string, opts Options) (*Registry, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	storage := filepath.Join(dir, "storage")
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config(addr, storage, opts)), 0o600); err != nil {
		return nil, fmt.Errorf("write registry config: %w", err)
	}
	r := &Registry{Addr: addr, Dir: storage, logs: &devnet.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	if err := r.waitReady(15 * time.Second); err != nil {
		r.Stop()
		return nil, fmt.Errorf("%w; registry log:\n%s", err, lastLines([]byte(r.Logs())))
	}
	return r, nil
}

func (r *Registry) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case <-r.done:
			return errors.New("docker-registry exited during start-up")
		case <-ctx.Done():
			return fmt.Errorf("docker-registry not ready on %s after %s", r.Addr, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func config(addr, storage string, o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %q\n  delete:\n    enabled: true\n", storage)
	fmt.Fprintf(&b, "http:\n  addr: %s\n", addr)
	if o.Realm != "" {
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %q\n    service: %q\n    issuer: %q\n    rootcertbundle: %q\n",
			o.Realm, o.Service, o.Issuer, o.RootCertBundle)
	}
	return b.String()
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
