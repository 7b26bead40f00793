package config

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestDocsExamples parses every hcl and toml example in
// docs/configuration.md. A fence's info string names the file kind:
// ```hcl server.hcl, ```hcl rise.hcl, ```toml .rise.toml.
func TestDocsExamples(t *testing.T) {
	testEnv(t)
	t.Setenv("DATABASE_URL", "postgres://rise@127.0.0.1:5432/rise")
	t.Setenv("DEX_CLIENT_SECRET", "secret")
	t.Setenv("RISE_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	const doc = "../../docs/configuration.md"
	src, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	n := 0
	for i := 0; i < len(lines); i++ {
		info, ok := strings.CutPrefix(lines[i], "```")
		if !ok || info == "" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && lines[i] != "```"; i++ {
		}
		block := []byte(strings.Join(lines[start:i], "\n") + "\n")
		name := doc + ":" + strconv.Itoa(start)
		var diags hcl.Diagnostics
		switch info {
		case "hcl server.hcl":
			_, diags = ParseServer(block, name)
		case "hcl rise.hcl":
			_, diags = ParseApp(block, name)
		case "toml .rise.toml", "toml rise.toml":
			_, diags = ParseAppTOML(block, name)
		case "text":
			continue
		default:
			t.Errorf("%s: code block %q: say which file it is (```hcl server.hcl, ```hcl rise.hcl, ```toml rise.toml, ```text)", name, info)
			continue
		}
		n++
		if diags.HasErrors() {
			t.Errorf("example at %s does not load:\n%s", name, diags.Error())
		}
	}
	if n < 6 {
		t.Errorf("found %d examples in %s, expected at least 6", n, doc)
	}
}

// TestMigratingExamples loads the side-by-side app files of
// docs/migrating.md: the reference rise's rise.toml and the rise.hcl must
// describe the same project.
func TestMigratingExamples(t *testing.T) {
	src, err := os.ReadFile("../../docs/migrating.md")
	if err != nil {
		t.Fatal(err)
	}
	var apps []*App
	parts := strings.Split(string(src), "```")
	for i := 1; i < len(parts); i += 2 {
		var app *App
		var diags hcl.Diagnostics
		if body, ok := strings.CutPrefix(parts[i], "toml\n"); ok {
			app, diags = ParseAppTOML([]byte(body), "migrating.md rise.toml")
		} else if body, ok := strings.CutPrefix(parts[i], "hcl\n"); ok {
			app, diags = ParseApp([]byte(body), "migrating.md rise.hcl")
		} else {
			continue
		}
		if diags.HasErrors() || len(diags) > 0 {
			t.Fatalf("example %d: %v", len(apps), diags)
		}
		apps = append(apps, app)
	}
	if len(apps) != 2 {
		t.Fatalf("found %d app files, want the two side by side", len(apps))
	}
	a, b := apps[0], apps[1]
	if a.Project != b.Project || a.Visibility != b.Visibility || a.Build.Builder != b.Build.Builder ||
		a.Deploy.Env["LOG_LEVEL"] != b.Deploy.Env["LOG_LEVEL"] {
		t.Errorf("the two files differ: %+v %+v / %+v %+v", a, a.Deploy, b, b.Deploy)
	}
}
