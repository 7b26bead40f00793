// Package pebbletest runs Let's Encrypt's ACME test server, Pebble, with its
// challenge test server (pebble-challtestsrv) as the DNS server, on loopback
// for tests: both built from the Go module proxy by dev/pebble/build.sh into
// a cache outside the repository (~/.cache/rise-dev/pebble-<version>).
//
//	p := pebbletest.Start(t, pebbletest.Options{HTTPPort: h, TLSPort: s})
//	// p.Directory: the ACME directory; p.CAFile: the root Pebble's own HTTPS
//	// chains to; p.Root(t): the root issued certificates chain to;
//	// p.DNS: the resolver ("127.0.0.1:<port>"); p.SetTXT(t, name, value)
//
// Every name resolves to 127.0.0.1 unless set otherwise, so Pebble
// validates HTTP-01 on HTTPPort and TLS-ALPN-01 on TLSPort of this machine.
// Both processes stop at test cleanup.
package pebbletest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

// Options configure the ACME server.
type Options struct {
	// HTTPPort and TLSPort are the ports Pebble validates HTTP-01 and
	// TLS-ALPN-01 challenges on (the server under test's listeners).
	HTTPPort, TLSPort int
}

// Pebble is a running Pebble and challenge test server.
type Pebble struct {
	Directory string // https://127.0.0.1:<port>/dir
	CAFile    string // PEM root of Pebble's own HTTPS endpoints
	DNS       string // 127.0.0.1:<port>: pebble-challtestsrv's DNS
	mgmt      string // Pebble's management API (https)
	chall     string // challtestsrv's management API (http)
	client    *http.Client
	logs      []*devnet.Buffer
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Binaries builds (once per process, cached across runs) Pebble and
// pebble-challtestsrv and returns the directory holding them and certs/.
func Binaries() (string, error) {
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(filepath.Dir(file)), "pebble", "build.sh")
		out, err := exec.Command("bash", script).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			buildErr = fmt.Errorf("build pebble: %w", err)
			return
		}
		binDir = strings.TrimSpace(string(out))
	})
	return binDir, buildErr
}

// Start runs challtestsrv and Pebble. When they cannot be built the test is
// skipped, or fails under RISE_REQUIRE_REAL=1 (dev/realpart).
func Start(t testing.TB, o Options) *Pebble {
	t.Helper()
	dir, err := Binaries()
	if err != nil {
		realpart.Missing(t, "Pebble", err)
	}
	ports := make([]int, 4)
	for i := range ports {
		if ports[i], err = devnet.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	dnsPort, challPort, acmePort, mgmtPort := ports[0], ports[1], ports[2], ports[3]
	p := &Pebble{
		Directory: fmt.Sprintf("https://127.0.0.1:%d/dir", acmePort),
		CAFile:    filepath.Join(dir, "certs", "pebble.minica.pem"),
		DNS:       fmt.Sprintf("127.0.0.1:%d", dnsPort),
		mgmt:      fmt.Sprintf("https://127.0.0.1:%d", mgmtPort),
		chall:     fmt.Sprintf("http://127.0.0.1:%d", challPort),
	}
	caPEM, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	p.run(t, filepath.Join(dir, "pebble-challtestsrv"), nil,
		"-dnsserver", p.DNS, "-management", fmt.Sprintf("127.0.0.1:%d", challPort),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-defaultIPv6", "")
	p.waitTCP(t, fmt.Sprintf("127.0.0.1:%d", challPort))

	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", acmePort),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":                    filepath.Join(dir, "certs", "cert.pem"),
		"privateKey":                     filepath.Join(dir, "certs", "key.pem"),
		"httpPort":                       o.HTTPPort,
		"tlsPort":                        o.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
		"profiles":                       map[string]any{"default": map[string]any{"description": "default", "validityPeriod": 7776000}},
	}}
	body, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(t.TempDir(), "pebble-config.json")
	if err := os.WriteFile(cfgFile, body, 0o644); err != nil {
		t.Fatal(err)
	}
	// No sleeps before validation, no random nonce rejections, and no
	// reuse of valid authorizations (every order validates anew).
	p.run(t, filepath.Join(dir, "pebble"), []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"-config", cfgFile, "-dnsserver", p.DNS)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := p.client.Get(p.Directory)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not answer at %s: %v\n%s", p.Directory, err, p.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *Pebble) run(t testing.TB, bin string, env []string, args ...string) {
	t.Helper()
	out := &devnet.Buffer{}
	p.logs = append(p.logs, out)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
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
}

func (p *Pebble) waitTCP(t testing.TB, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listening on %s:\n%s", addr, p.Logs())
		}
	}
}

// Logs returns what Pebble and challtestsrv printed so far.
func (p *Pebble) Logs() string {
	var b strings.Builder
	for _, l := range p.logs {
		b.WriteString(l.String())
	}
	return b.String()
}

// Root returns the PEM of the root certificate Pebble's issued
// certificates chain to (it is generated at every start).
func (p *Pebble) Root(t testing.TB) []byte {
	t.Helper()
	resp, err := p.client.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pebble root: %d %v %s", resp.StatusCode, err, b)
	}
	return b
}

// RootFile writes Root to a file (for curl --cacert) and returns its path.
func (p *Pebble) RootFile(t testing.TB) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "pebble-root.pem")
	if err := os.WriteFile(f, p.Root(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// SetTXT makes the DNS server answer name's TXT queries with value.
func (p *Pebble) SetTXT(t testing.TB, name, value string) {
	t.Helper()
	p.manage(t, "/set-txt", map[string]any{"host": fqdn(name), "value": value})
}

// ClearTXT removes name's TXT records.
func (p *Pebble) ClearTXT(t testing.TB, name string) {
	t.Helper()
	p.manage(t, "/clear-txt", map[string]any{"host": fqdn(name)})
}

// SetA makes the DNS server answer name's A queries with addrs (instead of
// the default 127.0.0.1).
func (p *Pebble) SetA(t testing.TB, name string, addrs ...string) {
	t.Helper()
	p.manage(t, "/add-a", map[string]any{"host": fqdn(name), "addresses": addrs})
}

func (p *Pebble) manage(t testing.TB, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := p.client.Post(p.chall+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("challtestsrv %s: %d %s", path, resp.StatusCode, msg)
	}
}

func fqdn(name string) string { return strings.TrimSuffix(name, ".") + "." }
