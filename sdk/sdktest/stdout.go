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
	if !g.enabled {
		t.Skip("stdout check disabled (plugin runs out of process)")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen.Len() > 0 {
		out := g.seen.String()
		if len(out) > 500 {
			out = out[:500] + "..."
		}
		t.Errorf("plugin wrote %d bytes to stdout (stdout is the plugin handshake channel; log to stderr with hclog or report through the UI):\n%s", g.seen.Len(), out)
	}
}
