package buildtool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// step records what a tool wrote.
type step struct{ out strings.Builder }

func (s *step) Done()                       {}
func (s *step) Fail(err error) error        { return err }
func (s *step) Writer(sdk.Stream) io.Writer { return &s.out }

func TestRunStreamsOutput(t *testing.T) {
	var st step
	out, err := Tool{Path: "/bin/sh", Env: []string{"GREETING=hi"}}.Run(context.Background(), &st, "-c", `echo "$GREETING"; echo err >&2`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "hi\n") || !strings.Contains(st.out.String(), "hi\n") || !strings.Contains(st.out.String(), "err\n") {
		t.Fatalf("output %q, streamed %q", out, st.out.String())
	}
}

func TestRunFailureNamesCommandAndRedacts(t *testing.T) {
	var st step
	_, err := Tool{Path: "/bin/sh"}.Run(context.Background(), &st, "-c", "echo boom; exit 3", "--build-arg", "NPM_TOKEN=s3cret")
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "sh -c") || !strings.Contains(msg, "NPM_TOKEN=***") || strings.Contains(msg, "s3cret") || !strings.Contains(msg, "boom") {
		t.Fatalf("error %q", msg)
	}
}

func TestRunCancelKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if b, _ := os.ReadFile(pidFile); len(b) > 0 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	// The grandchild (sleep) must die with the tool: it is in its process group.
	_, err := Tool{Path: "/bin/sh"}.Run(ctx, &step{}, "-c", "sleep 60 & echo $! > "+pidFile+"; wait")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancel took %s", d)
	}
	b, _ := os.ReadFile(pidFile)
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &pid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive after cancel", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEnvironPrecedence(t *testing.T) {
	t.Setenv("RISE_BT_A", "plugin")
	t.Setenv("RISE_BT_B", "plugin")
	env := Environ(map[string]string{"RISE_BT_B": "request", "RISE_BT_C": "request"}, "RISE_BT_C=override")
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	if got["RISE_BT_A"] != "plugin" || got["RISE_BT_B"] != "request" || got["RISE_BT_C"] != "override" {
		t.Fatalf("env = %v", got)
	}
}

func TestWriteDockerConfig(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDockerConfig(dir, &sdk.Credentials{Registry: "127.0.0.1:5000", Username: "u", Password: "p"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var cfg struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Auths["127.0.0.1:5000"].Auth != "dTpw" {
		t.Fatalf("config.json = %s (%v)", b, err)
	}
}

func TestRedactAndLastLines(t *testing.T) {
	if got := Redact([]string{"--build-arg", "NPM_TOKEN=abc", "--build-arg", "BASE=x"}); got[1] != "NPM_TOKEN=***" || got[3] != "BASE=x" {
		t.Errorf("Redact = %v", got)
	}
	if got := LastLines("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("LastLines = %q", got)
	}
}
