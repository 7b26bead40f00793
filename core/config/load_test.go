package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAppPrecedence(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadApp(dir); !errors.Is(err, ErrNoAppConfig) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty dir: %v, want ErrNoAppConfig", err)
	}
	write(t, dir, ".rise.toml", "project = \"from-dot-toml\"\n")
	app, err := LoadApp(dir)
	if err != nil || app.Project != "from-dot-toml" || len(app.Warnings) != 0 {
		t.Fatalf(".rise.toml alone: %+v, %v", app, err)
	}
	// The reference rise's [project] form; rise.toml wins over .rise.toml
	// (as there) and the warning says so.
	write(t, dir, "rise.toml", "[project]\nname = \"from-plain-toml\"\n")
	app, err = LoadApp(dir)
	if err != nil || app.Project != "from-plain-toml" || app.Path != filepath.Join(dir, "rise.toml") {
		t.Fatalf("rise.toml should win over .rise.toml: %+v, %v", app, err)
	}
	if len(app.Warnings) != 1 || !strings.Contains(app.Warnings[0].Detail, "rise.toml is used; .rise.toml in the same directory is ignored") {
		t.Fatalf("warnings = %v", app.Warnings)
	}
	write(t, dir, "rise.hcl", "project = \"from-hcl\"\n")
	app, err = LoadApp(dir)
	if err != nil || app.Project != "from-hcl" {
		t.Fatalf("rise.hcl should win: %+v, %v", app, err)
	}
	if len(app.Warnings) != 1 || !strings.Contains(app.Warnings[0].Detail, "rise.hcl is used; rise.toml and .rise.toml in the same directory are ignored") {
		t.Fatalf("warnings = %v", app.Warnings)
	}
	// An ignored file's own errors do not matter; the used file's
	// warnings come along.
	write(t, dir, "rise.hcl", "project = \"from-hcl\"\nvisibility = \"secret\"\n")
	if _, err := LoadApp(dir); err == nil || !strings.Contains(err.Error(), "rise.hcl:2") {
		t.Fatalf("bad visibility in rise.hcl: %v", err)
	}
}

func TestLoadAppErrorIsDiagnostics(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ".rise.toml", "project = \"ok\"\n\n[deploy]\nport = -5\n")
	_, err := LoadApp(dir)
	var diags hcl.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("error %v (%T) is not hcl.Diagnostics", err, err)
	}
	want := filepath.Join(dir, ".rise.toml") + ":4,1-10: Invalid port"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q lacks %q", err, want)
	}
	out := FormatDiagnostics(diags, nil)
	for _, s := range []string{"Error: Invalid port", "on " + filepath.Join(dir, ".rise.toml") + " line 4", "port = -5"} {
		if !strings.Contains(out, s) {
			t.Errorf("formatted diagnostics lack %q:\n%s", s, out)
		}
	}
}

func TestFormatDiagnosticsSnippet(t *testing.T) {
	testEnv(t)
	path := filepath.Join(t.TempDir(), "server.hcl")
	write(t, path[:len(path)-len("/server.hcl")], "server.hcl", "database {\n  url = env(\"RISE_TEST_UNSET\")\n}\n")
	_, diags := LoadServer(path)
	if !diags.HasErrors() {
		t.Fatal("want an error for an unset variable")
	}
	out := FormatDiagnostics(diags, nil)
	for _, s := range []string{"Error: Invalid function argument", "on " + path + " line 2", `url = env("RISE_TEST_UNSET")`, "RISE_TEST_UNSET is not set"} {
		if !strings.Contains(out, s) {
			t.Errorf("formatted diagnostics lack %q:\n%s", s, out)
		}
	}
}

func TestLoadServerMissingFile(t *testing.T) {
	_, diags := LoadServer(filepath.Join(t.TempDir(), "nope.hcl"))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "nope.hcl") {
		t.Fatalf("diags = %v", diags)
	}
}

func TestEnvDefaultAndOverride(t *testing.T) {
	testEnv(t)
	src := []byte("database {\n  url = env(\"RISE_TEST_URL\", \"postgres://127.0.0.1/default\")\n}\n")
	s, diags := ParseServer(src, "server.hcl")
	if diags.HasErrors() || s.Database.URL != "postgres://127.0.0.1/default" {
		t.Fatalf("default: %v %v", s, diags)
	}
	t.Setenv("RISE_TEST_URL", "postgres://127.0.0.1/set")
	s, diags = ParseServer(src, "server.hcl")
	if diags.HasErrors() || s.Database.URL != "postgres://127.0.0.1/set" {
		t.Fatalf("set: %v %v", s, diags)
	}
	_, diags = ParseServer([]byte("database {\n  url = env(\"A\", \"b\", \"c\")\n}\n"), "server.hcl")
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "optional default") {
		t.Fatalf("three args: %v", diags)
	}
}

func TestAppURL(t *testing.T) {
	testEnv(t)
	s, diags := ParseServer([]byte("domain = \"rise.dev\"\ndatabase {\n  url = \"postgres://x/y\"\n}\n"), "server.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := s.AppURL("secret-app"); got != "https://secret-app.rise.dev" {
		t.Fatalf("AppURL = %q", got)
	}
}
