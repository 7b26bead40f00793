package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/riseplatform/rise/dev/realpart"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output, build-fail
}

// formatter prints events the way a plain `go test` prints its results:
// package lines (ok, FAIL, "? … [no test files]"), build errors, and the
// output of failing tests; passing and skipped tests stay quiet.
type formatter struct {
	out    io.Writer
	tests  map[string][]string // package + "\x00" + test → output lines so far
	skips  map[string][]string // reason → skipped tests
	failed bool
}

func newFormatter(out io.Writer) *formatter {
	return &formatter{out: out, tests: map[string][]string{}, skips: map[string][]string{}}
}

func (f *formatter) line(b []byte) {
	var e event
	if err := json.Unmarshal(b, &e); err != nil || e.Action == "" {
		fmt.Fprintf(f.out, "%s\n", b) // not an event (e.g. a vet error): pass it on
		return
	}
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "build-output":
		fmt.Fprint(f.out, e.Output)
	case "build-fail":
		f.failed = true
	case "output":
		if e.Test != "" {
			f.tests[key] = append(f.tests[key], e.Output)
			return
		}
		if e.Output == "PASS\n" || strings.HasPrefix(e.Output, "=== ") {
			return // a plain `go test` does not print these without -v
		}
		fmt.Fprint(f.out, e.Output)
	case "pass":
		delete(f.tests, key)
	case "skip":
		if e.Test != "" {
			r := skipReason(f.tests[key])
			f.skips[r] = append(f.skips[r], e.Package+"."+e.Test)
		}
		delete(f.tests, key)
	case "fail":
		f.failed = true
		if e.Test != "" {
			f.printTest(key)
			return
		}
		// The package failed: tests that never finished (a timeout, a
		// panic, a killed binary) show what they printed.
		for k := range f.tests {
			if strings.HasPrefix(k, e.Package+"\x00") {
				f.printTest(k)
			}
		}
	}
}

func (f *formatter) printTest(key string) {
	for _, l := range f.tests[key] {
		if strings.HasPrefix(l, "=== ") {
			continue
		}
		fmt.Fprint(f.out, l)
	}
	delete(f.tests, key)
}

// logLine is a line written by t.Log/t.Skip: "    file_test.go:12: text".
var logLine = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: ?(.*)$`)

// skipReason finds the message of t.Skip in a skipped test's output: the
// last logged message before "--- SKIP", its first non-empty line, without
// decoration. Missing real parts (dev/realpart) are grouped by part.
func skipReason(lines []string) string {
	msg := -1
	for i, l := range lines {
		if logLine.MatchString(strings.TrimRight(l, "\n")) {
			msg = i
		}
	}
	if msg < 0 {
		return "no reason given"
	}
	text := []string{logLine.FindStringSubmatch(strings.TrimRight(lines[msg], "\n"))[1]}
	for _, l := range lines[msg+1:] {
		if strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "=== ") {
			break
		}
		text = append(text, l)
	}
	reason := ""
	for _, l := range text {
		l = strings.Trim(strings.TrimSpace(l), "*! ")
		l = strings.TrimSpace(strings.TrimPrefix(l, "SKIPPING:"))
		if l != "" {
			reason = l
			break
		}
	}
	if reason == "" {
		return "no reason given"
	}
	if rest, ok := strings.CutPrefix(reason, realpart.SkipPrefix); ok {
		part, _, _ := strings.Cut(rest, ": ")
		return "missing " + part
	}
	if len(reason) > 70 {
		reason = reason[:67] + "..."
	}
	return reason
}

// skipSummary is the one line that says what did not run.
func (f *formatter) skipSummary() string {
	n := 0
	reasons := make([]string, 0, len(f.skips))
	for r, ts := range f.skips {
		n += len(ts)
		reasons = append(reasons, r)
	}
	if n == 0 {
		return "skipped: none"
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := len(f.skips[reasons[i]]), len(f.skips[reasons[j]])
		if a != b {
			return a > b
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s", len(f.skips[r]), r)
	}
	return fmt.Sprintf("skipped: %d test(s) — %s", n, strings.Join(parts, "; "))
}
