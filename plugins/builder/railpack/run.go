package railpack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/riseplatform/rise/sdk"
)

var execLookPath = exec.LookPath

// tool runs one external program for a build step: in its own process group
// (so cancelling kills everything it started), with an explicit environment,
// its output streamed into the step.
type tool struct {
	path  string
	env   []string
	dir   string
	stdin io.Reader
}

// run runs argv, streaming output to step, and returns the combined output's
// tail for error messages and parsing.
func (t tool) run(ctx context.Context, step sdk.Step, argv ...string) (string, error) {
	cmd := exec.Command(t.path, argv...)
	cmd.Env, cmd.Dir, cmd.Stdin = t.env, t.dir, t.stdin
	tail := &tailBuffer{max: 64 << 10}
	cmd.Stdout = io.MultiWriter(step.Writer(sdk.Stdout), tail)
	cmd.Stderr = io.MultiWriter(step.Writer(sdk.Stderr), tail)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", t.path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return tail.String(), fmt.Errorf("%s %s: %w\n%s", baseName(t.path), strings.Join(redact(argv), " "), err, lastLines(tail.String(), 15))
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

// environ builds a tool's environment: the plugin's own environment, then
// the request's (proxies, SSL_CERT_FILE, BUILDKIT_HOST), then overrides.
func environ(reqEnv map[string]string, overrides ...string) []string {
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

// redact hides build-arg values that look secret in error messages.
func redact(argv []string) []string {
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

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func lastLines(s string, n int) string {
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

var errNoDigest = errors.New("could not determine the pushed image's digest")
