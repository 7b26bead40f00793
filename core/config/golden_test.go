package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

var update = flag.Bool("update", false, "rewrite the .golden files")

// testEnv fixes the environment golden files depend on.
func testEnv(t *testing.T) {
	t.Setenv("HOME", "/home/test")
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("RISE_TEST_DATABASE_URL", "postgres://rise:secret@127.0.0.1:5432/rise?sslmode=disable")
	t.Setenv("RISE_TEST_DEX_SECRET", "dex-secret")
	os.Unsetenv("RISE_TEST_UNSET")
}

// TestServerGolden decodes every testdata/server/*.hcl and compares the
// result (decoded config as JSON, or the diagnostics) with its .golden file.
func TestServerGolden(t *testing.T) {
	testEnv(t)
	files, _ := filepath.Glob("testdata/server/*.hcl")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, diags := LoadServer(f)
			var got string
			if diags.HasErrors() {
				if cfg != nil {
					t.Error("config returned along with errors")
				}
				got = diagLines(diags)
			} else {
				got = diagLines(diags) + serverJSON(t, cfg)
			}
			golden(t, f, got)
		})
	}
}

// TestAppGolden does the same for testdata/app/*.{hcl,toml}.
func TestAppGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/app/*.*")
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".golden") })
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var app *App
			var diags hcl.Diagnostics
			if strings.HasSuffix(f, ".toml") {
				app, diags = ParseAppTOML(src, f)
			} else {
				app, diags = ParseApp(src, f)
			}
			got := diagLines(diags)
			if !diags.HasErrors() {
				got += appJSON(t, app)
			} else if app != nil {
				t.Error("app returned along with errors")
			}
			golden(t, f, got)
		})
	}
}

func golden(t *testing.T, input, got string) {
	t.Helper()
	path := input + ".golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", input, path, got, want)
	}
}

func diagLines(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		b.WriteString(sev + ": " + d.Error() + "\n")
	}
	return b.String()
}

// bodyView renders a plugin body: attribute values as JSON, nested block
// types.
func bodyView(t *testing.T, body hcl.Body) map[string]any {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		t.Fatalf("body is %T", body)
	}
	out := map[string]any{}
	for name, a := range sb.Attributes {
		v, diags := a.Expr.Value(EvalContext())
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		j, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			t.Fatal(err)
		}
		out[name] = json.RawMessage(j)
	}
	for _, b := range sb.Blocks {
		out["block "+b.Type] = strings.Join(b.Labels, " ")
	}
	return out
}

type compView struct {
	Name     string
	DefRange string
	Body     map[string]any
}

func comp(t *testing.T, c *Component) *compView {
	if c == nil {
		return nil
	}
	return &compView{c.Name, c.DefRange.String(), bodyView(t, c.Body)}
}

func serverJSON(t *testing.T, s *Server) string {
	v := struct {
		*Server
		Registry, Runtime *compView
		TokenLifetime     string
	}{s, comp(t, s.Registry), comp(t, s.Runtime), s.Auth.TokenLifetime().String()}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func appJSON(t *testing.T, a *App) string {
	type buildView struct {
		Builder, Backend, DefRange string
		Body                       map[string]any
		BuildArgs                  []string `json:",omitempty"`
		Platform                   string   `json:",omitempty"`
		NoCache                    bool     `json:",omitempty"`
		ManagedBuildkit            bool     `json:",omitempty"`
	}
	v := struct {
		*App
		Build *buildView
	}{App: a}
	if a.Build != nil {
		b := a.Build
		v.Build = &buildView{b.Builder, b.Backend, b.DefRange.String(), bodyView(t, b.Body), b.BuildArgs, b.Platform, b.NoCache, b.ManagedBuildkit}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}
