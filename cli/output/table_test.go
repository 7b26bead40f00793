package output

import (
	"bytes"
	"strings"
	"testing"
)

// seedTable is the seed's `rise p ls` output, byte for byte.
const seedTable = `PROJECT         STATUS        URL                             VISIBILITY    OWNER
my-first-app    running       https://my-first-app.rise.dev   public        user:niklas
secret-app      stopped       https://secret-app.rise.dev     private       team:devops
`

func projectTable() *Table {
	return NewTable(Column{"PROJECT", 16}, Column{"STATUS", 14}, Column{"URL", 32}, Column{"VISIBILITY", 14}, Column{"OWNER", 0})
}

func TestTableSeed(t *testing.T) {
	tb := projectTable()
	tb.Row("my-first-app", "running", "https://my-first-app.rise.dev", "public", "user:niklas")
	tb.Row("secret-app", "stopped", "https://secret-app.rise.dev", "private", "team:devops")
	var b bytes.Buffer
	if err := tb.Render(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != seedTable {
		t.Errorf("table differs from the seed:\n%q\nwant\n%q", b.String(), seedTable)
	}
}

func TestTableGrowsWithLongCells(t *testing.T) {
	tb := projectTable()
	long := "a-very-long-project-name-indeed"
	tb.Row(long, "running", "https://x.dev", "public", "user:n")
	var b bytes.Buffer
	_ = tb.Render(&b)
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[1], long+"   running") {
		t.Errorf("long cell not followed by the gap: %q", lines[1])
	}
	if strings.Index(lines[0], "STATUS") != len(long)+Gap {
		t.Errorf("header not aligned: %q", lines[0])
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space in %q", l)
		}
	}
}

func TestTableUnicodeWidth(t *testing.T) {
	tb := NewTable(Column{"A", 0}, Column{"B", 0})
	tb.Row("ünï", "x")
	var b bytes.Buffer
	_ = tb.Render(&b)
	if want := "A     B\nünï   x\n"; b.String() != want {
		t.Errorf("got %q want %q", b.String(), want)
	}
}

func TestPrinterQuietAndColor(t *testing.T) {
	var out, errb bytes.Buffer
	p := &Printer{Out: &out, Err: &errb, Quiet: true}
	p.Infof("hidden")
	p.Successf("hidden")
	p.Warnf("shown")
	if errb.String() != "Warning: shown\n" {
		t.Errorf("quiet printer wrote %q", errb.String())
	}
	errb.Reset()
	p = &Printer{Out: &out, Err: &errb, Color: false}
	p.Successf("Login successful! Welcome back, %s!", "Niklas")
	if errb.String() != "Login successful! Welcome back, Niklas!\n" {
		t.Errorf("got %q", errb.String())
	}
	errb.Reset()
	p.Color = true
	p.Successf("ok")
	if !strings.Contains(errb.String(), "\x1b[32m") {
		t.Errorf("no colour on a colour printer: %q", errb.String())
	}
}

func TestColorAllowed(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	var b bytes.Buffer // not a terminal
	if ColorAllowed(&b, false, env(nil)) {
		t.Error("colour on a non-terminal")
	}
	if ColorAllowed(&b, false, env(map[string]string{"NO_COLOR": "1"})) {
		t.Error("colour with NO_COLOR")
	}
}

func TestStepWithoutTTYPrintsPlainLine(t *testing.T) {
	var errb bytes.Buffer
	p := &Printer{Out: &bytes.Buffer{}, Err: &errb}
	s := p.Start("Deploying 'secret-app' ...")
	s.Done()
	s.Done()
	if errb.String() != "Deploying 'secret-app' ...\n" {
		t.Errorf("got %q", errb.String())
	}
}

func TestStepOnTTYSpinsThenPrintsPlainLine(t *testing.T) {
	var errb syncBuffer
	p := &Printer{Out: &bytes.Buffer{}, Err: &errb, TTY: true}
	s := p.Start("Pushing")
	s.Update("Pushing container image to r...")
	s.Done()
	got := errb.String()
	if !strings.Contains(got, "\r\x1b[K") || !strings.HasSuffix(got, "\r\x1b[KPushing container image to r...\n") {
		t.Errorf("got %q", got)
	}
}

func TestWaitIsTransient(t *testing.T) {
	var errb syncBuffer
	p := &Printer{Out: &bytes.Buffer{}, Err: &errb}
	p.Wait("Waiting").Done()
	if errb.String() != "" {
		t.Errorf("Wait without a TTY wrote %q", errb.String())
	}
	p.TTY = true
	p.Wait("Waiting").Done()
	if got := errb.String(); !strings.HasPrefix(got, "\r\x1b[K") || !strings.HasSuffix(got, "\r\x1b[K") || strings.Contains(got, "\n") {
		t.Errorf("Wait on a TTY left %q", got)
	}
}
