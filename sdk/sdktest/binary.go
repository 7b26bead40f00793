package sdktest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/riseplatform/rise/sdk"
)

// LaunchBinary starts the plugin executable at path the way rise does
// (go-plugin over gRPC, AutoMTLS, the fixed handshake, only env plus PATH,
// HOME and TMPDIR as its environment) and returns the host-side connection,
// killed when the test ends. Its logs are kept quiet and printed only when
// the test fails. Run a conformance suite against it in one line:
//
//	sdktest.RuntimeConformanceConn(t, sdktest.LaunchBinary(t, bin, nil), "exec", cfg, opts...)
func LaunchBinary(t *testing.T, path string, env []string) *Connection {
	t.Helper()
	logs := &pluginLog{}
	late := &lateCalls{}
	logs.late = late
	var stdout syncBuffer
	cmd := exec.Command(path)
	cmd.Env = append([]string(nil), env...)
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok && !hasEnv(env, k) {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(nil),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SyncStdout:       &stdout,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: filepath.Base(path), Level: hclog.Debug, Output: logs, JSONFormat: true}),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(func() {
		client.Kill()
		if t.Failed() {
			t.Logf("plugin %s log:\n%s", path, logs.String())
		}
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("sdktest: launch %s: %v\n%s", path, err, logs.String())
	}
	raw, err := rpc.Dispense(sdk.DispenseName)
	if err != nil {
		t.Fatalf("sdktest: dispense %s: %v", path, err)
	}
	c := &Connection{Client: raw.(*sdk.Client), late: late, stdout: stdout.String}
	c.fresh = func(t *testing.T) *Connection { return LaunchBinary(t, path, env) }
	return c
}

func hasEnv(env []string, k string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			return true
		}
	}
	return false
}

// pluginLog keeps a launched plugin's log lines (hclog JSON) and notes the
// calls the plugin's SDK reported as ignoring their cancellation.
type pluginLog struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	late *lateCalls
}

func (l *pluginLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	for _, line := range bytes.Split(p, []byte("\n")) {
		var m struct {
			Message  string `json:"@message"`
			Method   string `json:"method"`
			After    string `json:"after"`
			Returned bool   `json:"returned"`
		}
		if json.Unmarshal(line, &m) == nil && m.Message == sdk.LateCallMessage {
			d, _ := time.ParseDuration(m.After)
			l.late.add(sdk.LateCall{Method: m.Method, After: d, Returned: m.Returned})
		}
	}
	return len(p), nil
}

func (l *pluginLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// AppBinary builds the kit's test workload (package testapp) as a static
// executable in a temporary directory and returns its path: run it as a
// host process, or copy it into a container image. It builds with the go
// command of the test, from the module that runs the test (which requires
// this SDK).
func AppBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sdktest-app")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/riseplatform/rise/sdk/sdktest/testapp/cmd/sdktest-app")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sdktest: build the test app: %v\n%s", err, out)
	}
	return bin
}
