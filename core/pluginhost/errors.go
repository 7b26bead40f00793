package pluginhost

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Error is a plugin process failure: it crashed, hung, or could not start.
// The message names the plugin and quotes its last stderr lines. The next
// call to the plugin starts a fresh process.
type Error struct {
	Plugin string   // plugin name, e.g. "runtime/docker" (built-in) or "ecs"
	Op     string   // the call, e.g. "Deploy"
	Reason string   // "crashed", "did not answer within 30s", "failed to start"
	Stderr []string // the plugin's last stderr lines
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s %s", e.Plugin, e.Reason)
	if e.Op != "" {
		fmt.Fprintf(&b, " during %s", e.Op)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if len(e.Stderr) > 0 {
		b.WriteString("\nlast output of the plugin:")
		for _, l := range e.Stderr {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// tail keeps the last lines a plugin wrote to stderr, for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
	part  []byte
}

const tailLines = 40

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := strings.IndexByte(string(t.part), '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(t.part[:i]), "\r")
		t.part = t.part[i+1:]
		if line == "" {
			continue
		}
		t.lines = append(t.lines, prettyLogLine(line))
		if len(t.lines) > tailLines {
			t.lines = t.lines[len(t.lines)-tailLines:]
		}
	}
	return len(p), nil
}

// Lines returns what matters for an error: from the last panic on (a
// dozen lines), else the last ten lines.
func (t *tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.part) > 0 {
		lines = append(append([]string(nil), lines...), string(t.part))
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "panic:") || strings.HasPrefix(lines[i], "fatal error:") {
			return append([]string(nil), lines[i:min(i+12, len(lines))]...)
		}
	}
	return append([]string(nil), lines[max(0, len(lines)-10):]...)
}

// prettyLogLine turns an hclog JSON line into "[LEVEL] message k=v".
func prettyLogLine(line string) string {
	if !strings.HasPrefix(line, "{") {
		return line
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return line
	}
	msg, _ := m["@message"].(string)
	level, _ := m["@level"].(string)
	var kv []string
	for k, v := range m {
		if !strings.HasPrefix(k, "@") {
			kv = append(kv, fmt.Sprintf("%s=%v", k, v))
		}
	}
	sort.Strings(kv)
	out := fmt.Sprintf("[%s] %s", strings.ToUpper(level), msg)
	if len(kv) > 0 {
		out += " " + strings.Join(kv, " ")
	}
	return out
}
