// Package dextest runs a real Dex OIDC provider on loopback for tests: built
// from the Go module proxy by dev/dex/build.sh into a cache outside the
// repository (~/.cache/rise-dev/dex-<version>), configured from
// dev/dex/config.yaml.tmpl with one static user and one static client.
//
//	dex := dextest.Start(t, dextest.Options{})
//	// dex.Issuer, dex.ClientID, dex.ClientSecret, dex.Email, dex.Password
package dextest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/dev/devnet"
	"github.com/riseplatform/rise/dev/realpart"
)

// Options customize the Dex instance.
type Options struct {
	// ExtraRedirectURIs are allowed for the static client besides the CLI
	// callbacks http://{localhost,127.0.0.1}:{8765,8766,8767}/callback.
	ExtraRedirectURIs []string
	// Email/Password of the static user; defaults below.
	Email, Password string
	// Groups of the static user (Dex's "groups" claim).
	Groups []string
	// Users are more static users.
	Users []User
	// Addr is the listen address (default: a free loopback port).
	Addr string
	// Dir holds the rendered config (default: a new temp dir).
	Dir string
}

// User is a static user of Dex.
type User struct {
	Email, Password string
	Groups          []string
}

// Defaults of the static user and client.
const (
	DefaultEmail    = "niklas@example.com"
	DefaultPassword = "correct horse battery staple"
	ClientID        = "rise"
)

// Dex is a running Dex.
type Dex struct {
	Issuer       string // http://127.0.0.1:<port> (no path: see the device flow note in start)
	ClientID     string
	ClientSecret string
	Email        string
	Password     string
	Username     string
	cmd          *exec.Cmd
	exited       chan struct{}
	out          *devnet.Buffer
	bin, addr    string
	opts         Options
}

// Logs returns what Dex printed so far.
func (d *Dex) Logs() string { return d.out.String() }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds (once per process, cached across runs) and returns the Dex binary.
func Binary() (string, error) {
	buildOnce.Do(func() {
		script := filepath.Join(devDir(), "dex", "build.sh")
		cmd := exec.Command("bash", script)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			buildErr = fmt.Errorf("dev/dex/build.sh: %w\n%s", err, stderr.String())
			return
		}
		binPath = strings.TrimSpace(string(out))
	})
	return binPath, buildErr
}

// devDir is the repository's dev/ directory.
func devDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Start builds (if needed) and starts Dex; it is stopped at test cleanup.
// When Dex cannot be built the test fails under RISE_REQUIRE_REAL=1 and is
// skipped otherwise (see dev/realpart).
func Start(t testing.TB, o Options) *Dex {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		realpart.Missing(t, "Dex", fmt.Errorf("cannot build it (the test needs a real OIDC provider): %w", err))
	}
	o.Dir = t.TempDir()
	d, err := Launch(bin, o)
	if err != nil {
		t.Fatalf("dextest: %v", err)
	}
	t.Cleanup(func() { d.Stop() })
	return d
}

// SetGroups restarts Dex (same address, client and secret) with email's
// groups replaced: the identity provider changed someone's groups. Dex
// keeps its state in memory, so logins in progress and refresh tokens are
// lost; new logins carry the new groups.
func (d *Dex) SetGroups(t testing.TB, email string, groups []string) {
	t.Helper()
	o := d.opts
	o.Users = slices.Clone(o.Users)
	switch {
	case strings.EqualFold(email, d.Email):
		o.Groups = groups
	default:
		i := slices.IndexFunc(o.Users, func(u User) bool { return strings.EqualFold(u.Email, email) })
		if i < 0 {
			t.Fatalf("dextest: no static user %s", email)
		}
		o.Users[i].Groups = groups
	}
	d.Stop()
	nd, err := launch(d.bin, o, d.addr, d.ClientSecret)
	if err != nil {
		t.Fatalf("dextest: restart: %v", err)
	}
	*d = *nd
}

// Launch starts Dex from bin (see Binary) outside of a test, e.g. for a
// development server; the caller calls Stop.
func Launch(bin string, o Options) (*Dex, error) {
	return launch(bin, o, "", "")
}

func launch(bin string, o Options, addr, secret string) (*Dex, error) {
	if o.Email == "" {
		o.Email = DefaultEmail
	}
	if o.Password == "" {
		o.Password = DefaultPassword
	}
	type staticUser struct {
		Email, PasswordHash, Username, UserID string
		Groups                                []string
	}
	var users []staticUser
	for _, u := range append([]User{{Email: o.Email, Password: o.Password, Groups: o.Groups}}, o.Users...) {
		hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.DefaultCost) // Dex refuses cost < 10
		if err != nil {
			return nil, fmt.Errorf("hash password: %w", err)
		}
		name := strings.SplitN(u.Email, "@", 2)[0]
		users = append(users, staticUser{Email: u.Email, PasswordHash: string(hash), Username: name, UserID: "dextest-" + name, Groups: u.Groups})
	}
	if addr == "" {
		addr = o.Addr
	}
	if addr == "" {
		port, err := devnet.FreePort()
		if err != nil {
			return nil, err
		}
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	d := &Dex{
		Issuer:       "http://" + addr,
		ClientID:     ClientID,
		ClientSecret: secret,
		Email:        o.Email,
		Password:     o.Password,
		Username:     strings.SplitN(o.Email, "@", 2)[0],
		out:          &devnet.Buffer{},
		bin:          bin,
		addr:         addr,
		opts:         o,
	}
	if d.ClientSecret == "" {
		d.ClientSecret = "dextest-secret-" + randomHex(8)
	}
	redirects := []string{}
	for _, h := range []string{"localhost", "127.0.0.1"} {
		for p := 8765; p <= 8767; p++ {
			redirects = append(redirects, fmt.Sprintf("http://%s:%d/callback", h, p))
		}
	}
	// Dex's device flow redirects to its own "/device/callback", which must
	// be registered as that path (see Dex's device flow docs). Dex sends the
	// browser there without the issuer's path prefix, which is why the
	// issuer here has no path (http://127.0.0.1:<port>).
	redirects = append(redirects, "/device/callback")
	redirects = append(redirects, o.ExtraRedirectURIs...)

	tmpl, err := template.ParseFiles(filepath.Join(devDir(), "dex", "config.yaml.tmpl"))
	if err != nil {
		return nil, fmt.Errorf("config template: %w", err)
	}
	var cfg bytes.Buffer
	if err := tmpl.Execute(&cfg, map[string]any{
		"Issuer": d.Issuer, "Addr": addr, "LogLevel": "warn",
		"Users":    users,
		"ClientID": d.ClientID, "ClientSecret": d.ClientSecret, "RedirectURIs": redirects,
	}); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "dextest-"); err != nil {
			return nil, fmt.Errorf("config dir: %w", err)
		}
	}
	cfgPath := filepath.Join(dir, "dex.yaml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	d.cmd = exec.Command(bin, "serve", cfgPath)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dex: %w", err)
	}
	d.exited = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	// Ready = discovery answers and the signing keys exist (Dex creates them
	// shortly after start).
	if err := waitReady(d.Issuer+"/keys", d.exited, 30*time.Second); err != nil {
		d.Stop()
		return nil, fmt.Errorf("%w\ndex output:\n%s", err, d.Logs())
	}
	return d, nil
}

// Stop kills Dex and waits for it to exit.
func (d *Dex) Stop() {
	_ = d.cmd.Process.Kill()
	<-d.exited
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func waitReady(u string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			var ks struct {
				Keys []json.RawMessage `json:"keys"`
			}
			err := json.NewDecoder(resp.Body).Decode(&ks)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && err == nil && len(ks.Keys) > 0 {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("dex exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("dex not ready after %s", timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
