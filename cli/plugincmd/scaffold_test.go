package plugincmd_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/plugincmd"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/pluginhost"
)

// runWithConfig runs `rise plugin ...` with a host that loads the -c file's
// plugin blocks, and no plugin directories.
func runWithConfig(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "rise", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().StringP("output", "o", "table", "output format")
	root.AddCommand(plugincmd.New(plugincmd.Options{Version: "1.0.0",
		Host: func(ctx context.Context, cfg *config.Server) (*pluginhost.Host, error) {
			o := pluginhost.Options{Version: "1.0.0", PluginDirs: []string{}}
			if cfg != nil {
				o.Plugins = cfg.Plugins
			}
			return pluginhost.New(ctx, o)
		}}))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// TestNewWritesModulesThatPassTheKit generates each kind in a temp dir,
// points its SDK requirement at this repository's sdk/, builds it, runs its
// conformance test, pins it with `plugin sha256` and finds it with
// `plugin list -c` on a file with only that plugin block.
func TestNewWritesModulesThatPassTheKit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests three generated modules")
	}
	sdkDir, err := filepath.Abs("../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"runtime", "registry", "builder"} {
		t.Run(kind, func(t *testing.T) {
			name := "my" + kind
			dir := filepath.Join(t.TempDir(), "rise-plugin-"+name)
			if _, err := runWithConfig(t, "plugin", "new", kind, name, "--dir", dir); err != nil {
				t.Fatalf("plugin new: %v", err)
			}
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil || !strings.Contains(string(readme), "## What to change") {
				t.Errorf("README.md = %q, %v; want a 'What to change' section", readme, err)
			}
			goCmd(t, dir, "mod", "edit", "-replace", "github.com/riseplatform/rise/sdk="+sdkDir)
			goCmd(t, dir, "mod", "tidy")
			bin := filepath.Join(dir, "rise-plugin-"+name)
			goCmd(t, dir, "build", "-o", bin, ".")
			goCmd(t, dir, "test", "-count=1", "./...")

			block, err := runWithConfig(t, "plugin", "sha256", bin)
			if err != nil {
				t.Fatalf("plugin sha256: %v", err)
			}
			if !strings.HasPrefix(block, `plugin "`+name+`" {`) || !strings.Contains(block, "sha256 = ") {
				t.Errorf("plugin sha256 printed %q", block)
			}
			cfg := filepath.Join(t.TempDir(), "plugins.hcl")
			if err := os.WriteFile(cfg, []byte(block), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runWithConfig(t, "plugin", "list", "-c", cfg)
			if err != nil {
				t.Fatalf("plugin list -c: %v", err)
			}
			if !strings.Contains(out, kind) || !strings.Contains(out, name) || !strings.Contains(out, bin) {
				t.Errorf("plugin list -c %s does not list %s %s from %s:\n%s", cfg, kind, name, bin, out)
			}
		})
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	for args, want := range map[string]string{
		"widget foo":   `unknown plugin kind "widget"`,
		"runtime Foo!": `invalid plugin name "Foo!"`,
	} {
		_, err := runWithConfig(t, append([]string{"plugin", "new"}, strings.Fields(args)...)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("plugin new %s: %v, want %q", args, err, want)
		}
	}
	if _, err := runWithConfig(t, "plugin", "sha256", "/etc/hostname"); err == nil || !strings.Contains(err.Error(), "rise-plugin-<name>") {
		t.Errorf("plugin sha256 of a non-plugin: %v", err)
	}
}
