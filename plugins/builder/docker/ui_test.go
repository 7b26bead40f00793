package docker

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

// recUI records steps and output; onOutput sees every chunk of tool output.
type recUI struct {
	mu       sync.Mutex
	steps    []string
	out      bytes.Buffer
	onOutput func(string)
}

func (u *recUI) Step(title string) sdk.Step {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.steps = append(u.steps, title)
	return &recStep{u: u, title: title}
}

func (u *recUI) Logf(format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(&u.out, format+"\n", args...)
}

func (u *recUI) output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.out.String()
}

type recStep struct {
	u     *recUI
	title string
}

func (s *recStep) Done()                { s.u.Logf("done: %s", s.title) }
func (s *recStep) Fail(err error) error { s.u.Logf("failed: %s: %v", s.title, err); return err }
func (s *recStep) Writer(sdk.Stream) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.u.mu.Lock()
		s.u.out.Write(p)
		cb := s.u.onOutput
		s.u.mu.Unlock()
		if cb != nil {
			cb(string(p))
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (u *recUI) hasStep(t *testing.T, prefix string) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range u.steps {
		if strings.HasPrefix(s, prefix) {
			return
		}
	}
	t.Errorf("no step %q in %q", prefix, u.steps)
}
