package deploy

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/sdk"
)

// logUI routes a runtime's progress into the server log.
// Secret values of the deployment are redacted.
type logUI struct {
	log    hclog.Logger
	redact redactor
}

func (u logUI) Step(title string) sdk.Step {
	title = u.redact.String(title)
	u.log.Debug(title)
	return logStep{u.log, title, u.redact}
}
func (u logUI) Logf(format string, args ...any) {
	u.log.Debug(u.redact.String(fmt.Sprintf(format, args...)))
}

type logStep struct {
	log    hclog.Logger
	title  string
	redact redactor
}

func (s logStep) Done() { s.log.Debug(s.title + ": done") }
func (s logStep) Fail(err error) error {
	s.log.Warn(s.title+": failed", "error", s.redact.Err(err))
	return err
}
func (s logStep) Writer(sdk.Stream) io.Writer { return lineWriter(s) }

type lineWriter logStep

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l != "" {
			w.log.Debug(w.redact.String(l), "step", w.title)
		}
	}
	return len(p), nil
}
