package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Formats accepted by -o/--output.
const (
	FormatTable = "table"
	FormatJSON  = "json"
)

// Printer writes data to Out and messages for people to Err.
type Printer struct {
	Out, Err io.Writer
	Format   string // FormatTable or FormatJSON
	Quiet    bool   // suppress informational messages (data and errors still print)
	Color    bool   // ANSI colour on Err
	TTY      bool   // Err is a terminal: spinners allowed
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// ColorAllowed reports whether colour may be used on w: a terminal, NO_COLOR
// unset, TERM not "dumb", and --no-color not given.
func ColorAllowed(w any, noColorFlag bool, getenv func(string) string) bool {
	if noColorFlag || getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w)
}

// JSONMode reports whether data is printed as JSON.
func (p *Printer) JSONMode() bool { return p.Format == FormatJSON }

// JSON writes v as indented JSON to Out.
func (p *Printer) JSON(v any) error {
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// Println writes a data line to Out.
func (p *Printer) Println(s string) { fmt.Fprintln(p.Out, s) }

// Infof writes an informational message to Err unless Quiet.
func (p *Printer) Infof(format string, args ...any) {
	if p.Quiet {
		return
	}
	fmt.Fprintln(p.Err, strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Successf writes a success message (green on a terminal) to Err unless Quiet.
func (p *Printer) Successf(format string, args ...any) {
	if p.Quiet {
		return
	}
	fmt.Fprintln(p.Err, p.paint(green, fmt.Sprintf(format, args...)))
}

// Warnf writes a warning to Err, even when Quiet.
func (p *Printer) Warnf(format string, args ...any) {
	fmt.Fprintln(p.Err, p.paint(yellow, "Warning: "+fmt.Sprintf(format, args...)))
}

// Errorln writes an error message to Err (red on a terminal).
func (p *Printer) Errorln(msg string) { fmt.Fprintln(p.Err, p.paint(red, msg)) }

const (
	red    = "31"
	green  = "32"
	yellow = "33"
	faint  = "2"
)

func (p *Printer) paint(code, s string) string {
	if !p.Color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Stdio is the default printer setup for a process.
func Stdio(format string, quiet, noColor bool) *Printer {
	return &Printer{
		Out: os.Stdout, Err: os.Stderr, Format: format, Quiet: quiet,
		Color: ColorAllowed(os.Stderr, noColor, os.Getenv),
		TTY:   IsTerminal(os.Stderr),
	}
}
