package sdktest

import (
	"bytes"
	"io"
	"os"
	"sync"
	"testing"
)

// stdoutGuard captures os.Stdout around plugin calls. Plugins must never
// write to stdout: out of process it is go-plugin's handshake channel.
type stdoutGuard struct {
	enabled bool
	remote  func() string // out of process: what the plugin wrote to its stdout
	mu      sync.Mutex
	seen    bytes.Buffer
}

// do runs f with os.Stdout redirected to a pipe and records what was written.
func (g *stdoutGuard) do(t *testing.T, f func()) {
	t.Helper()
	if !g.enabled {
		f()
		return
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("sdktest: pipe: %v", err)
	}
	orig := os.Stdout
	os.Stdout = w
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b bytes.Buffer
		_, _ = io.Copy(&b, r)
		g.mu.Lock()
		g.seen.Write(b.Bytes())
		g.mu.Unlock()
	}()
	defer func() {
		os.Stdout = orig
		_ = w.Close()
		<-done
		_ = r.Close()
	}()
	f()
}

func (g *stdoutGuard) check(t *testing.T) {
	t.Helper()
	seen := ""
	switch {
	case g.remote != nil:
		seen = g.remote()
	case !g.enabled:
		t.Skip("stdout check disabled (sdktest.WithoutStdoutCheck)")
	default:
		g.mu.Lock()
		seen = g.seen.String()
		g.mu.Unlock()
	}
	if len(seen) > 0 {
		out := seen
		if len(out) > 500 {
			out = out[:500] + "..."
		}
		t.Errorf("contract [%s] %s:\n\tplugin wrote %d bytes to stdout (log to stderr with hclog or report through the UI):\n%s", CheckNoStdout, Contract[CheckNoStdout], len(seen), out)
	}
}
