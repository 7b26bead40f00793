package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/cli/settings"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/version"
)

type result struct {
	out, err string
	code     int
}

// run executes the CLI in-process with a private config directory.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["XDG_CONFIG_HOME"]; !ok {
		env["XDG_CONFIG_HOME"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Stdio{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return result{out.String(), errb.String(), code}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"nope"},
		{"project", "nope"},
		{"p", "ls", "extra"},
		{"p", "ls", "--bogus"},
		{"p", "ls", "-o", "yaml"},
		{"p", "c", "x", "--visibility", "secret"},
		{"p", "c", "x", "--owner", "devops"},
		{"t", "u", "devops"},
		{"completion", "tcsh"},
	} {
		r := run(t, map[string]string{"RISE_TOKEN": "t"}, args...)
		if r.code != exitcode.Usage {
			t.Errorf("rise %v: exit %d, want 2 (stderr %q)", args, r.code, r.err)
		}
		if !strings.Contains(r.err, "--help' for usage.") {
			t.Errorf("rise %v: no usage hint in %q", args, r.err)
		}
	}
}

func TestNotLoggedInExit4(t *testing.T) {
	r := run(t, nil, "p", "ls")
	if r.code != exitcode.NotAuthenticated || r.err != "You are not logged in to http://localhost:3000; run `rise login`\n" {
		t.Errorf("got %d %q", r.code, r.err)
	}
	r = run(t, nil, "p", "ls", "-o", "json")
	var j exitcode.JSONError
	if err := json.Unmarshal([]byte(r.out), &j); err != nil || j.ExitCode != 4 || r.code != 4 || r.err != "" {
		t.Errorf("json error: code %d out %q err %q (%v)", r.code, r.out, r.err, err)
	}
}

func TestExpiredTokenExit4(t *testing.T) {
	dir := t.TempDir()
	s := &settings.Settings{URL: "http://localhost:3000", Token: "old", ExpiresAt: time.Now().Add(-time.Minute)}
	if err := s.Save(filepath.Join(dir, "rise", "config.json")); err != nil {
		t.Fatal(err)
	}
	r := run(t, map[string]string{"XDG_CONFIG_HOME": dir}, "team", "list")
	if r.code != exitcode.NotAuthenticated || !strings.Contains(r.err, "Your session has expired; run `rise login`") {
		t.Errorf("got %d %q", r.code, r.err)
	}
}

func TestCorruptConfigIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rise"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rise", "config.json"), []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, map[string]string{"XDG_CONFIG_HOME": dir}, "p", "ls")
	if r.code != exitcode.Error || !strings.Contains(r.err, "config.json") {
		t.Errorf("got %d %q", r.code, r.err)
	}
}

func TestUnreachableServer(t *testing.T) {
	r := run(t, map[string]string{"RISE_URL": "http://127.0.0.1:1", "RISE_TOKEN": "t"}, "p", "ls")
	if r.code != exitcode.Error || !strings.Contains(r.err, "cannot reach rise server at http://127.0.0.1:1") {
		t.Errorf("got %d %q", r.code, r.err)
	}
}

func TestDeleteNeverPromptsWithoutTTY(t *testing.T) {
	r := run(t, map[string]string{"RISE_TOKEN": "t", "RISE_URL": "http://127.0.0.1:1"}, "p", "rm", "app")
	if r.code != exitcode.Usage || !strings.Contains(r.err, "pass --yes") || strings.Contains(r.err, "[y/N]") {
		t.Errorf("got %d %q", r.code, r.err)
	}
}

func TestHelpHasExamples(t *testing.T) {
	root := newRoot(&globals{}, &clictx.Env{}, Stdio{})
	for _, c := range allCommands(root) {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		if !c.HasExample() {
			t.Errorf("%s has no Example in --help", c.CommandPath())
		}
	}
}

func TestVersionClientOnly(t *testing.T) {
	r := run(t, nil, "version", "--client")
	if r.code != 0 || r.out != "Client: rise "+version.Version+"\n" {
		t.Errorf("got %d %q %q", r.code, r.out, r.err)
	}
	if majorMinor("v1.2.3-rc1") != "1.2" || majorMinor("0.1.0-dev") != "0.1" {
		t.Error("majorMinor")
	}
}

func TestProjectAndID(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".rise.toml"), []byte("project = \"secret-app\"\n\n[build]\nbackend = \"buildpacks\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	cases := []struct {
		args        []string
		project, id string
	}{
		{[]string{"app", "20261123-142501"}, "app", "20261123-142501"},
		{[]string{"20261123-142501"}, "secret-app", "20261123-142501"},
		{[]string{"app"}, "app", ""},
		{nil, "secret-app", ""},
	}
	for _, c := range cases {
		p, id, err := projectAndID(nil, c.args, false)
		if err != nil || p != c.project || id != c.id {
			t.Errorf("projectAndID(%v) = %q %q %v", c.args, p, id, err)
		}
	}
	if _, _, err := projectAndID(nil, []string{"app"}, true); exitcode.CodeOf(err) != exitcode.Usage {
		t.Errorf("missing id: %v", err)
	}
	name, err := projectArg(nil, nil)
	if err != nil || name != "secret-app" {
		t.Errorf("projectArg from .rise.toml = %q, %v", name, err)
	}
	t.Chdir(t.TempDir())
	if _, err := projectArg(nil, nil); exitcode.CodeOf(err) != exitcode.Usage {
		t.Errorf("no app config: %v", err)
	}
}

func TestDeployRequestFromAppConfig(t *testing.T) {
	app := &config.App{Deploy: &config.AppDeploy{Port: 3000, Env: map[string]string{"A": "1"}, Group: "canary"}}
	req, err := deployFlags{env: []string{"B=2"}, port: 8081}.request(app)
	if err != nil {
		t.Fatal(err)
	}
	if req.Group != "canary" || req.Workload.Port != 8081 || req.Workload.Env["A"] != "1" || req.Workload.Env["B"] != "2" {
		t.Errorf("request = %+v %+v", req, req.Workload)
	}
	if app.Deploy.Env["B"] != "" {
		t.Error("flags modified the app config")
	}
	if _, err := (deployFlags{env: []string{"nope"}}).request(nil); exitcode.CodeOf(err) != exitcode.Usage {
		t.Errorf("bad --env: %v", err)
	}
	if _, err := (deployFlags{expire: "soon"}).request(nil); exitcode.CodeOf(err) != exitcode.Usage {
		t.Errorf("bad --expire: %v", err)
	}
}

func TestDeployWithoutBuilderNeedsImage(t *testing.T) {
	r := run(t, map[string]string{"RISE_TOKEN": "t"}, "deploy", "app", "--path", t.TempDir())
	if r.code != exitcode.Error || !strings.Contains(r.err, "--image") {
		t.Errorf("got %d %q", r.code, r.err)
	}
}

func TestConfirmOnTerminal(t *testing.T) {
	for in, want := range map[string]int{"y\n": exitcode.OK, "YES\n": exitcode.OK, "n\n": exitcode.Cancelled, "\n": exitcode.Cancelled, "": exitcode.Cancelled} {
		var errb bytes.Buffer
		env := &clictx.Env{Printer: &output.Printer{Out: &bytes.Buffer{}, Err: &errb}, Stdin: strings.NewReader(in), StdinTTY: true}
		err := confirm(env, "Delete project 'x'?", "--yes")
		if got := exitcode.CodeOf(err); got != want {
			t.Errorf("answer %q: code %d (%v), want %d", in, got, err, want)
		}
		if errb.String() != "Delete project 'x'? [y/N] " {
			t.Errorf("prompt %q", errb.String())
		}
	}
}

// Extra commands (server, plugin processes started without HOME) run even
// when no config can be found or read.
func TestExtraCommandsRunWithoutConfig(t *testing.T) {
	ran := false
	extra := &cobra.Command{Use: "server", RunE: func(*cobra.Command, []string) error { ran = true; return nil }}
	var out, errb bytes.Buffer
	t.Setenv("HOME", "")
	code := Run(context.Background(), []string{"server"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb,
		Getenv: func(string) string { return "" }}, extra)
	if code != 0 || !ran {
		t.Errorf("extra command: code %d ran %v stderr %q", code, ran, errb.String())
	}
}

func TestUnknownCommandSuggestion(t *testing.T) {
	r := run(t, nil, "porject")
	want := "unknown command \"porject\" for \"rise\". Did you mean 'project'?\nRun 'rise --help' for usage.\n"
	if r.code != exitcode.Usage || r.err != want {
		t.Errorf("got %d %q, want %q", r.code, r.err, want)
	}
}

// TestAliasesAreUnambiguous: no alias of a command shadows a sibling's name
// or another sibling's alias (cobra would silently pick one: `rise env`
// once meant both the variables and the environments command).
func TestAliasesAreUnambiguous(t *testing.T) {
	root := newRoot(&globals{}, &clictx.Env{}, Stdio{})
	for _, c := range allCommands(root) {
		seen := map[string]string{}
		for _, s := range c.Commands() {
			for _, n := range append([]string{s.Name()}, s.Aliases...) {
				if other, ok := seen[n]; ok && other != s.Name() {
					t.Errorf("%s: %q names both %q and %q", c.CommandPath(), n, other, s.Name())
				}
				seen[n] = s.Name()
			}
		}
	}
}
