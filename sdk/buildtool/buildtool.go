// Package buildtool helps builder plugins drive external build tools
// (docker, podman, pack, railpack, buildctl): run them cancellably with their
// output streamed into a progress step, build their environment, and hand
// them short-lived registry credentials without touching the user's
// ~/.docker.
package buildtool

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// Tool runs one external program for a build step: in its own process group
// (so cancelling kills everything it started), with an explicit environment,
// its output streamed into the step.
type Tool struct {
	Path  string    // the executable
	Env   []string  // its whole environment (see Environ)
	Dir   string    // working directory
	Stdin io.Reader // optional
}

// Run runs argv, streaming output to step, and returns the last 64 KiB of
// the combined output for error messages and parsing. When ctx ends, the
// tool's process group gets SIGTERM, then SIGKILL after 5 seconds. A failed
// run's error names the command (build-arg values that look secret
// redacted) and quotes its last lines.
func (t Tool) Run(ctx context.Context, step sdk.Step, argv ...string) (string, error) {
	cmd := exec.Command(t.Path, argv...)
	cmd.Env, cmd.Dir, cmd.Stdin = t.Env, t.Dir, t.Stdin
	tail := &tailBuffer{max: 64 << 10}
	cmd.Stdout = io.MultiWriter(step.Writer(sdk.Stdout), tail)
	cmd.Stderr = io.MultiWriter(step.Writer(sdk.Stderr), tail)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", t.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return tail.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(t.Path), strings.Join(Redact(argv), " "), err, LastLines(tail.String(), 15))
		}
		return tail.String(), nil
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		return tail.String(), ctx.Err()
	}
}

// Environ builds a tool's environment: the plugin's own environment, then
// the request's (proxies, SSL_CERT_FILE, BUILDKIT_HOST), then overrides
// ("KEY=value").
func Environ(reqEnv map[string]string, overrides ...string) []string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	for k, v := range reqEnv {
		m[k] = v
	}
	for _, kv := range overrides {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Redact hides --build-arg values whose names look secret (TOKEN, SECRET,
// PASSWORD, KEY), for error messages and logs.
func Redact(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = a
		if i > 0 && argv[i-1] == "--build-arg" {
			if k, _, ok := strings.Cut(a, "="); ok && looksSecret(k) {
				out[i] = k + "=***"
			}
		}
	}
	return out
}

func looksSecret(k string) bool {
	k = strings.ToUpper(k)
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "KEY"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// LastLines returns the last n lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// ErrNoDigest: the tool pushed but its output did not say the image's digest.
var ErrNoDigest = errors.New("could not determine the pushed image's digest")

// WriteDockerConfig writes a docker config.json holding only c into dir. Point
// the tool's DOCKER_CONFIG (podman: REGISTRY_AUTH_FILE=dir/config.json) at
// it, never at the user's ~/.docker.
func WriteDockerConfig(dir string, c *sdk.Credentials) error {
	auth := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
	b, err := json.Marshal(map[string]any{"auths": map[string]any{c.Registry: map[string]string{"auth": auth}}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return fmt.Errorf("write temporary registry config: %w", err)
	}
	return nil
}
