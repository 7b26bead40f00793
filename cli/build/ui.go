package build

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/riseplatform/rise/sdk"
)

// StreamUI shows build progress for people: step titles and the tools'
// output on w (stderr).
func StreamUI(w io.Writer) sdk.UI { return &streamUI{w: w} }

type streamUI struct {
	mu sync.Mutex
	w  io.Writer
}

func (u *streamUI) printf(format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.w, format, args...)
}

func (u *streamUI) Step(title string) sdk.Step {
	u.printf("==> %s\n", title)
	return &streamStep{u: u, title: title}
}

func (u *streamUI) Logf(format string, args ...any) { u.printf(format+"\n", args...) }

type streamStep struct {
	u     *streamUI
	title string
}

func (s *streamStep) Done() {}

func (s *streamStep) Fail(err error) error {
	s.u.printf("==> %s failed\n", s.title)
	return err
}

func (s *streamStep) Writer(sdk.Stream) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.u.mu.Lock()
		defer s.u.mu.Unlock()
		return s.u.w.Write(p)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// DiscardUI drops all progress (the caller shows its own).
func DiscardUI() sdk.UI { return discardUI{} }

type discardUI struct{}

func (discardUI) Step(string) sdk.Step { return discardStep{} }
func (discardUI) Logf(string, ...any)  {}

type discardStep struct{}

func (discardStep) Done()                       {}
func (discardStep) Fail(err error) error        { return err }
func (discardStep) Writer(sdk.Stream) io.Writer { return io.Discard }

// pushWatch calls onPush once, when a builder starts a step titled
// "Pushing ..." (the builders' convention for their push step).
type pushWatch struct {
	sdk.UI
	once   sync.Once
	onPush func()
}

func (p *pushWatch) Step(title string) sdk.Step {
	if strings.HasPrefix(title, "Pushing") {
		p.once.Do(p.onPush)
	}
	return p.UI.Step(title)
}
