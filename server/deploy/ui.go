package deploy

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/sdk"
)

// logUI routes a runtime's progress into the server log.
type logUI struct{ log hclog.Logger }

func (u logUI) Step(title string) sdk.Step { u.log.Debug(title); return logStep{u.log, title} }
func (u logUI) Logf(format string, args ...any) {
	u.log.Debug(fmt.Sprintf(format, args...))
}

type logStep struct {
	log   hclog.Logger
	title string
}

func (s logStep) Done() { s.log.Debug(s.title + ": done") }
func (s logStep) Fail(err error) error {
	s.log.Warn(s.title+": failed", "error", err)
	return err
}
func (s logStep) Writer(sdk.Stream) io.Writer { return lineWriter(s) }

type lineWriter struct {
	log   hclog.Logger
	title string
}

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l != "" {
			w.log.Debug(l, "step", w.title)
		}
	}
	return len(p), nil
}
