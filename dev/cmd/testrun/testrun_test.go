package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// events renders test2json events as the lines `go test -json` prints.
func events(t *testing.T, evs ...event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range evs {
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestFormatterPrintsLikeGoTestAndCountsSkips(t *testing.T) {
	const pkg = "example.com/p"
	out := func(test, s string) event { return event{Action: "output", Package: pkg, Test: test, Output: s} }
	in := events(t,
		event{Action: "start", Package: pkg},
		out("TestOK", "=== RUN   TestOK\n"), out("TestOK", "    a_test.go:3: chatter\n"), out("TestOK", "--- PASS: TestOK (0.00s)\n"),
		event{Action: "pass", Package: pkg, Test: "TestOK"},
		out("TestPG", "=== RUN   TestPG\n"), out("TestPG", "    pgtest.go:63: real part missing: PostgreSQL: could not start: exit 1\n"),
		out("TestPG", "--- SKIP: TestPG (0.00s)\n"), event{Action: "skip", Package: pkg, Test: "TestPG"},
		out("TestPG2", "    pgtest.go:63: real part missing: PostgreSQL: another reason\n"), event{Action: "skip", Package: pkg, Test: "TestPG2"},
		out("TestLoud", "    x_test.go:9: \n"), out("TestLoud", "        \n"), out("TestLoud", "        *** SKIPPING: no pty here ***\n"),
		out("TestLoud", "--- SKIP: TestLoud (0.00s)\n"), event{Action: "skip", Package: pkg, Test: "TestLoud"},
		out("TestBare", "--- SKIP: TestBare (0.00s)\n"), event{Action: "skip", Package: pkg, Test: "TestBare"},
		out("TestBad", "=== RUN   TestBad\n"), out("TestBad", "    b_test.go:7: boom\n"), out("TestBad", "--- FAIL: TestBad (0.01s)\n"),
		event{Action: "fail", Package: pkg, Test: "TestBad"},
		out("TestHang", "    c_test.go:1: last words\n"),
		event{Action: "output", Package: pkg, Output: "FAIL\n"},
		event{Action: "output", Package: pkg, Output: "FAIL\texample.com/p\t0.02s\n"},
		event{Action: "fail", Package: pkg},
		event{Action: "output", Package: "example.com/q", Output: "PASS\n"},
		event{Action: "output", Package: "example.com/q", Output: "ok  \texample.com/q\t0.01s\n"},
		event{Action: "pass", Package: "example.com/q"},
	)
	var b bytes.Buffer
	f := newFormatter(&b)
	for _, l := range strings.Split(strings.TrimSpace(in), "\n") {
		f.line([]byte(l))
	}
	got := b.String() + f.skipSummary() + "\n"
	want := "    b_test.go:7: boom\n--- FAIL: TestBad (0.01s)\n" +
		"FAIL\nFAIL\texample.com/p\t0.02s\n" +
		"    c_test.go:1: last words\n" +
		"ok  \texample.com/q\t0.01s\n" +
		"skipped: 4 test(s) — 2 missing PostgreSQL; 1 no pty here; 1 no reason given\n"
	if got != want || !f.failed {
		t.Errorf("failed=%v, output:\n%s\nwant:\n%s", f.failed, got, want)
	}
}

func TestRunKeepsExitCode(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 3", 3}, {`echo '{"Action":"fail","Package":"p"}'`, 1}} {
		var b bytes.Buffer
		if got := run([]string{"sh", "-c", tc.script}, checks{}, &b); got != tc.want {
			t.Errorf("%q: exit %d, want %d\n%s", tc.script, got, tc.want, b.String())
		}
	}
}

// TestRunFindsLeakedProcess: a process a "test" starts and leaves running
// fails the run, is named, and is killed.
func TestRunFindsLeakedProcess(t *testing.T) {
	if c := os.Getenv("TESTRUN_CHILD"); c != "" {
		script := "sleep 300 & exit 0"
		if c == "2" {
			script = "sleep 1 & exit 0"
		}
		var b bytes.Buffer
		code := run([]string{"sh", "-c", script}, checks{processes: true}, &b)
		os.Stdout.WriteString(b.String())
		os.Exit(code)
	}
	// In a child process: the subreaper setting stays with it.
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunFindsLeakedProcess$")
	cmd.Env = append(os.Environ(), "TESTRUN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "LEAKED: 1 thing(s)") || !strings.Contains(string(out), ": sleep 300") {
		t.Errorf("output does not name the leaked process:\n%s", out)
	}
	// A process that is on its way out within the grace period is not a leak.
	if os.Getenv("TESTRUN_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRunFindsLeakedProcess$")
		cmd.Env = append(os.Environ(), "TESTRUN_CHILD=2")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "leaks: none") {
			t.Errorf("a process exiting within the grace period: %v\n%s", err, out)
		}
	}
	if o, _ := exec.Command("pgrep", "-f", "^sleep 300$").Output(); len(o) > 0 {
		t.Logf("note: some sleep 300 runs (maybe not ours): %s", o)
	}
}
