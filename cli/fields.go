package cli

import (
	"io"
	"time"

	"github.com/riseplatform/rise/cli/output"
)

type field struct{ name, value string }

// printFields prints aligned "Name:   value" lines.
func printFields(w io.Writer, fs []field) error {
	t := output.NewTable(output.Column{}, output.Column{})
	t.NoHeader = true
	for _, f := range fs {
		t.Row(f.name+":", f.value)
	}
	return t.Render(w)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05 MST")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
