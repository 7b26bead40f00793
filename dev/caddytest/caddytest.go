// Package caddytest runs a real Caddy on loopback for benchmarks: built from
// the Go module proxy by dev/caddy/build.sh into a cache outside the
// repository (~/.cache/rise-dev/caddy-<version>), serving one
// reverse_proxy site.
//
//	addr := caddytest.ReverseProxy(t, "127.0.0.1:8080") // "127.0.0.1:<port>"
package caddytest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/devnet"
	"github.com/riseplatform/rise/dev/realpart"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds (once per process, cached across runs) and returns Caddy.
func Binary() (string, error) {
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(filepath.Dir(file)), "caddy", "build.sh")
		out, err := exec.Command("bash", script).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			buildErr = fmt.Errorf("build caddy: %w", err)
			return
		}
		binPath = strings.TrimSpace(string(out))
	})
	return binPath, buildErr
}

// ReverseProxy starts Caddy with reverse_proxy to upstream (host:port) on a
// free loopback port, no access log, no admin API, and returns its
// address; it is stopped at test cleanup. When Caddy cannot be built the
// test is skipped, or fails under RISE_REQUIRE_REAL=1 (dev/realpart).
func ReverseProxy(t testing.TB, upstream string) string {
	t.Helper()
	return reverseProxy(t, upstream, "", "")
}

// ReverseProxyTLS is ReverseProxy terminating TLS with the PEM certificate
// and key in certFile and keyFile (the benchmark's HTTPS reference).
func ReverseProxyTLS(t testing.TB, upstream, certFile, keyFile string) string {
	t.Helper()
	return reverseProxy(t, upstream, certFile, keyFile)
}

func reverseProxy(t testing.TB, upstream, certFile, keyFile string) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		realpart.Missing(t, "Caddy", err)
	}
	port, err := devnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "Caddyfile")
	site, tlsLine := fmt.Sprintf(":%d", port), ""
	if certFile != "" {
		site, tlsLine = fmt.Sprintf("https://:%d", port), fmt.Sprintf("\ttls %s %s\n", certFile, keyFile)
	}
	body := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}
%s {
	bind 127.0.0.1
%s	reverse_proxy %s
}
`, site, tlsLine, upstream)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &devnet.Buffer{}
	cmd := exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("caddy exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy not listening on %s:\n%s", addr, out.String())
		}
	}
}
