package pluginhost_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

func TestListBuiltins(t *testing.T) {
	h := newHost(t, nil)
	var rows []string
	for _, i := range h.List() {
		rows = append(rows, fmt.Sprintf("%s %s %s %s %v", i.Kind, i.Name, i.Version, i.Source, i.Capabilities))
	}
	want := []string{
		"registry blocky dev built-in []",
		"registry memory dev built-in [repository]",
		"runtime faulty dev built-in []",
		"runtime memory dev built-in [logs destroy]",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("List:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	_, err := h.Runtime(context.Background(), "memroy", nil)
	if err == nil || !strings.Contains(err.Error(), `no runtime plugin named "memroy"; available: faulty, memory`) {
		t.Errorf("unknown runtime: %v", err)
	}
}

func TestBuiltinConformanceOutOfProcess(t *testing.T) {
	h := newHost(t, nil)
	sdktest.RuntimeConformanceConn(t, hostConn{h}, "memory", map[string]any{"healthy_after": "50ms"}, sdktest.WithoutStdoutCheck(), sdktest.MemorySkips(true))
	sdktest.RegistryConformanceConn(t, hostConn{h}, "memory", nil, sdktest.WithoutStdoutCheck())
}

func TestCapabilitiesAbsent(t *testing.T) {
	h := newHost(t, nil)
	rt, _ := h.Runtime(context.Background(), "faulty", nil)
	err := rt.Logs(context.Background(), &sdk.Deployment{}, sdk.LogOptions{}, func(sdk.LogLine) error { return nil })
	if !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Logs: %v, want ErrUnsupported", err)
	}
	rt, _ = h.Runtime(context.Background(), "faulty", []byte(`{"mode":"notfound"}`))
	if _, err := rt.Status(context.Background(), &sdk.Deployment{}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Status: %v, want ErrNotFound", err)
	}
}

func TestCrashGivesClearErrorAndNextCallWorks(t *testing.T) {
	logs := &syncBuffer{b: &bytes.Buffer{}}
	h := newHost(t, func(o *pluginhost.Options) {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	})
	ctx := context.Background()
	ok, _ := h.Runtime(ctx, "faulty", nil)
	pid1, err := pluginPID(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ mode, want string }{
		{"panic", "panic: faulty plugin panics on purpose"},
		{"exit", "fatal: disk on fire"},
	} {
		bad, _ := h.Runtime(ctx, "faulty", []byte(`{"mode":"`+tc.mode+`"}`))
		_, err = bad.Status(ctx, &sdk.Deployment{ID: "x"})
		var pe *pluginhost.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%s: want *pluginhost.Error, got %T %v", tc.mode, err, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "plugin runtime/faulty crashed during Status") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error does not name the plugin and its last output:\n%s", tc.mode, msg)
		}
		if !errors.Is(err, sdk.ErrUnavailable) {
			t.Errorf("%s: crash error does not match sdk.ErrUnavailable: %v", tc.mode, err)
		}
		waitGone(t, pid1)
		pid2, err := pluginPID(ctx, ok)
		if err != nil {
			t.Fatalf("%s: call after the crash: %v", tc.mode, err)
		}
		if pid2 == pid1 {
			t.Errorf("%s: call after the crash reused pid %d", tc.mode, pid1)
		}
		pid1 = pid2
	}
	if !strings.Contains(logs.String(), "plugin.runtime.faulty") || !strings.Contains(logs.String(), "status called") {
		t.Errorf("plugin logs are not in the host log under the plugin's name:\n%s", logs.String())
	}
}

func TestHangIsStoppedAfterTimeout(t *testing.T) {
	h := newHost(t, func(o *pluginhost.Options) { o.CallTimeout = 500 * time.Millisecond })
	ctx := context.Background()
	ok, _ := h.Runtime(ctx, "faulty", nil)
	pid1, err := pluginPID(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	hang, _ := h.Runtime(ctx, "faulty", []byte(`{"mode":"hang"}`))
	start := time.Now()
	_, err = hang.Status(ctx, &sdk.Deployment{})
	if !strings.Contains(fmt.Sprint(err), "plugin runtime/faulty did not answer within 500ms") || !strings.Contains(err.Error(), "status called") {
		t.Fatalf("hang: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("hung call returned after %s", took)
	}
	waitGone(t, pid1)
	if _, err := pluginPID(ctx, ok); err != nil {
		t.Fatalf("call after the hang: %v", err)
	}
	// A caller's own cancellation does not kill the plugin.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	pid2, _ := pluginPID(ctx, ok)
	if _, err := hang.Status(cctx, &sdk.Deployment{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller deadline: %v", err)
	}
	if pid3, err := pluginPID(ctx, ok); err != nil || pid3 != pid2 {
		t.Errorf("after a caller's deadline the plugin was restarted (%d -> %d, %v)", pid2, pid3, err)
	}
}

func TestCloseStopsPlugins(t *testing.T) {
	h, err := pluginhost.New(context.Background(), pluginhost.Options{Builtins: builtins(), PluginDirs: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := h.Runtime(context.Background(), "faulty", nil)
	pid, err := pluginPID(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	waitGone(t, pid)
	if _, err := rt.Status(context.Background(), &sdk.Deployment{}); err == nil {
		t.Error("call after Close succeeded")
	}
}

func TestCleanupRunsWhenPluginProcessStops(t *testing.T) {
	h := newHost(t, nil)
	marker := filepath.Join(t.TempDir(), "marker")
	cfg := []byte(fmt.Sprintf(`{"marker":%q}`, marker))
	// ValidateConfig provisions a throw-away instance and cleans it up.
	if diags := h.ValidateConfig(context.Background(), sdk.KindRuntime, "faulty", cfg, nil, hclRange()); diags.HasErrors() {
		t.Fatal(diags)
	}
	rt, _ := h.Runtime(context.Background(), "faulty", cfg)
	pid, err := pluginPID(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(marker); string(b) != "cleanup\n" {
		t.Fatalf("after ValidateConfig and a call: marker %q, want one cleanup (of the validation instance)", b)
	}
	h.Close()
	waitGone(t, pid)
	if b, _ := os.ReadFile(marker); string(b) != "cleanup\ncleanup\n" {
		t.Errorf("after the host closed the plugin: marker %q, want the cached instance cleaned up too", b)
	}
}

func TestIdleProcessIsStopped(t *testing.T) {
	h := newHost(t, func(o *pluginhost.Options) { o.IdleTimeout = 200 * time.Millisecond })
	rt, _ := h.Runtime(context.Background(), "faulty", nil)
	pid, err := pluginPID(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if _, err := pluginPID(context.Background(), rt); err != nil {
		t.Fatalf("call after idle stop: %v", err)
	}
}

func TestNoOrphansWhenHostIsKilled(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PLUGINHOST_TEST_HOST=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("host did not report a plugin pid: %v", err)
	}
	var pid int
	if _, err := fmt.Sscanf(line, "PID %d", &pid); err != nil {
		t.Fatalf("host said %q", line)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d is not running", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, pid)
}

// writeExternal writes an executable rise-plugin-<name> that runs this test
// binary in the given mode.
func writeExternal(t *testing.T, dir, name, mode string) string {
	t.Helper()
	path := filepath.Join(dir, pluginhost.BinaryPrefix+name)
	script := fmt.Sprintf("#!/bin/sh\nexec '%s' plugin %s \"$@\"\n", os.Args[0], mode)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalPluginFromDirectory(t *testing.T) {
	dir := t.TempDir()
	path := writeExternal(t, dir, "ext", "serve-external")
	t.Setenv("PLUGINHOST_TEST_SECRET", "host-secret")
	h := newHost(t, func(o *pluginhost.Options) { o.PluginDirs = []string{dir} })
	info, ok := h.Lookup(sdk.KindRuntime, "extmem")
	if !ok || info.Source != path || info.Version != "1.2.3" || info.Plugin != "ext" {
		t.Fatalf("Lookup(extmem) = %+v, %v", info, ok)
	}
	// The external "faulty" overrides the built-in of the same name.
	if info, _ := h.Lookup(sdk.KindRuntime, "faulty"); info.Source != path {
		t.Errorf("faulty comes from %s, want the external plugin", info.Source)
	}
	sdktest.RuntimeConformanceConn(t, hostConn{h}, "extmem", nil, sdktest.WithoutStdoutCheck(), sdktest.MemorySkips(true))
}

func TestPluginBlockEnvAndChecksum(t *testing.T) {
	dir := t.TempDir()
	path := writeExternal(t, dir, "ext", "serve-external")
	b, _ := os.ReadFile(path)
	sum := sha256.Sum256(b)
	t.Setenv("PLUGINHOST_TEST_SECRET", "host-secret")
	h := newHost(t, func(o *pluginhost.Options) {
		o.Plugins = []*config.Plugin{{Name: "ext", Path: path, SHA256: hex.EncodeToString(sum[:]), Env: map[string]string{"PLUGIN_ONLY": "yes"}}}
	})
	rt, _ := h.Runtime(context.Background(), "faulty", []byte(`{"mode":"env"}`))
	st, err := rt.Status(context.Background(), &sdk.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Message != ",yes" {
		t.Errorf("plugin environment: got %q, want only the plugin block's env (\",yes\")", st.Message)
	}

	sum[0] ^= 0xff
	_, err = pluginhost.New(context.Background(), pluginhost.Options{PluginDirs: []string{},
		Plugins: []*config.Plugin{{Name: "ext", Path: path, SHA256: hex.EncodeToString(sum[:])}}})
	if err == nil || !strings.Contains(err.Error(), "SHA-256 checksum") || !strings.Contains(err.Error(), "plugin ext failed to start") {
		t.Errorf("wrong checksum: %v", err)
	}
}

func TestProtocolMismatchIsRefused(t *testing.T) {
	for _, tc := range []struct{ mode, name, want string }{
		{"serve-v1", "old", "plugin old speaks plugin protocol 1 (rise SDK v0.1.x), this rise speaks protocol 2 (rise SDK v0.2.0 to v" + sdk.SDKVersion + "): rebuild it against rise SDK v" + sdk.SDKVersion + " or later"},
		{"serve-v3", "new", "plugin new speaks plugin protocol 3 (a rise SDK newer than v" + sdk.SDKVersion + "), this rise speaks protocol 2 (rise SDK v0.2.0 to v" + sdk.SDKVersion + "): upgrade rise"},
	} {
		dir := t.TempDir()
		writeExternal(t, dir, tc.name, tc.mode)
		_, err := pluginhost.New(context.Background(), pluginhost.Options{PluginDirs: []string{dir}})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !sdk.IsPermanent(err) {
			t.Errorf("%s: want a permanent error %q, got %v", tc.mode, tc.want, err)
		}
	}
}

func TestMissingPluginPath(t *testing.T) {
	_, err := pluginhost.New(context.Background(), pluginhost.Options{PluginDirs: []string{t.TempDir()},
		Plugins: []*config.Plugin{{Name: "ecs"}}})
	if err == nil || !strings.Contains(err.Error(), `plugin "ecs": no path set and no rise-plugin-ecs found`) {
		t.Fatalf("missing plugin: %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestReattachToDebugPlugin(t *testing.T) {
	cmd := exec.Command(os.Args[0], "plugin", "serve", "runtime/faulty", "-debug")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var reattach string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, v, ok := strings.Cut(sc.Text(), sdk.ReattachEnv+"='"); ok {
			reattach = strings.TrimSuffix(v, "'")
			break
		}
	}
	if reattach == "" {
		t.Fatalf("debug plugin did not print %s", sdk.ReattachEnv)
	}
	h := newHost(t, func(o *pluginhost.Options) { o.Reattach = &reattach })
	info, _ := h.Lookup(sdk.KindRuntime, "faulty")
	if want := fmt.Sprintf("reattach (pid %d)", cmd.Process.Pid); info.Source != want {
		t.Errorf("source = %q, want %q", info.Source, want)
	}
	rt, _ := h.Runtime(context.Background(), "faulty", nil)
	pid, err := pluginPID(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	if pid != cmd.Process.Pid {
		t.Errorf("call went to pid %d, want the debug process %d", pid, cmd.Process.Pid)
	}
	h.Close()
	if !alive(cmd.Process.Pid) {
		t.Error("closing the host killed the debug plugin it had attached to")
	}
}
