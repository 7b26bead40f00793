// Package e2e runs the real `rise` binary (built from ./cmd/rise) against a
// real rise server on a real PostgreSQL database: the seed's CLI session
// verbatim, JSON shapes, exit codes, completion, login and TTY behaviour.
package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// riseBinary builds ./cmd/rise once per test process into the test cache
// directory (~/.cache/rise-test/e2e) and returns its path. RISE_E2E_BINARY
// names a prebuilt binary to test instead.
func riseBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("RISE_E2E_BINARY"); p != "" {
			binPath = p
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "rise-test", "e2e")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		removeStale(dir)
		binPath = filepath.Join(dir, "rise-"+strconv.Itoa(os.Getpid()))
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = "/usr/local/go/bin/go"
		}
		cmd := exec.Command(goBin, "build", "-o", binPath, "./cmd/rise")
		cmd.Dir = ".."
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = errors.New("go build ./cmd/rise: " + err.Error() + "\n" + out.String())
		}
	})
	if buildErr != nil {
		t.Fatalf("%v", buildErr)
	}
	return binPath
}

// removeStale deletes binaries left by earlier test processes.
func removeStale(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), "rise-") && time.Since(info.ModTime()) > time.Hour {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// result is one run of the binary.
type result struct {
	Out, Err string
	Code     int
}

// cliEnv is the environment one simulated user runs rise in: a private
// config directory and working directory.
type cliEnv struct {
	Dir    string            // working directory
	Config string            // XDG_CONFIG_HOME
	Vars   map[string]string // extra environment (RISE_URL, RISE_TOKEN, ...)
}

func newCLIEnv(t testing.TB, vars map[string]string) *cliEnv {
	if vars == nil {
		vars = map[string]string{}
	}
	return &cliEnv{Dir: t.TempDir(), Config: t.TempDir(), Vars: vars}
}

func (e *cliEnv) environ() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.Config,
		"XDG_CONFIG_HOME=" + e.Config,
		"TERM=xterm",
	}
	for k, v := range e.Vars {
		env = append(env, k+"="+v)
	}
	return env
}

// rise runs the binary with args and returns its output and exit code.
func (e *cliEnv) rise(t testing.TB, args ...string) result {
	t.Helper()
	cmd := exec.Command(riseBinary(t), args...)
	cmd.Dir = e.Dir
	cmd.Env = e.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run rise %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}
