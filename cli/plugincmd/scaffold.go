package plugincmd

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/sdk"
)

//go:embed templates
var templates embed.FS

// kinds are what `rise plugin new` scaffolds: the component's Go type and
// what the README tells the author to change.
var kinds = map[string]struct{ typ, description, change string }{
	"runtime": {"Runtime", "Runs apps as processes on this machine",
		"`runtime.go` runs each deployment's `Workload.Command` as a host process (detached in its own session, " +
			"reaped, state in a per-deployment directory). Replace the bodies of Deploy, Status, Stop, Logs and " +
			"Destroy with calls to your platform; keep what Status and Stop need in the deployment state. For a " +
			"container platform, change `conformance_test.go` to deploy an image made from `sdktest.AppBinary(t)`."},
	"registry": {"Registry", "Hands out registry credentials",
		"`registry.go` returns the configured username and password for `<host>/<prefix><project>`. Replace " +
			"Credentials with a call that mints short-lived credentials scoped to that one repository; add " +
			"`sdk.RepositoryManager` if repositories must be created."},
	"builder": {"Builder", "Builds images",
		"`builder.go` detects a marker file and does not build yet. Implement Build (build `req.Dir`, tag " +
			"`req.Image`, push to `req.Target` with its credentials, return the digest), then give the " +
			"conformance test `sdktest.WithBuildDir`."},
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

func newNew() *cobra.Command {
	var dir, module string
	c := &cobra.Command{
		Use:   "new runtime|registry|builder NAME",
		Short: "Write a new plugin module (builds, passes the SDK's conformance kit)",
		Long: `Write a Go module for a new plugin: main.go, the component with the stub
behaviour its README describes, a conformance test against the SDK's kit, and
a README saying what to change. The module requires the rise SDK this rise
was built with.`,
		Example: `  rise plugin new runtime lambda --dir ./rise-plugin-lambda
  cd rise-plugin-lambda && go mod tidy && go test ./...`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name := args[0], args[1]
			k, ok := kinds[kind]
			if !ok {
				return fmt.Errorf("unknown plugin kind %q: want runtime, registry or builder", kind)
			}
			if !nameRE.MatchString(name) {
				return fmt.Errorf("invalid plugin name %q: lowercase letters, digits, '-' and '_', starting with a letter", name)
			}
			if dir == "" {
				dir = "rise-plugin-" + name
			}
			if module == "" {
				module = "example.com/rise-plugin-" + name
			}
			if err := scaffold(dir, kind, name, module, k.typ, k.description, k.change); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Wrote a %s plugin %q to %s. Next:\n  cd %s && go mod tidy && go test ./...\n", kind, name, dir, dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory to write (default ./rise-plugin-NAME); must not exist or be empty")
	c.Flags().StringVar(&module, "module", "", "Go module path (default example.com/rise-plugin-NAME)")
	return c
}

func scaffold(dir, kind, name, module, typ, description, change string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: choose another --dir", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	data := map[string]string{
		"Name": name, "Kind": kind, "Module": module, "Type": typ, "Description": description, "Change": change,
		"SDKVersion": sdk.SDKVersion, "GoVersion": strings.TrimPrefix(runtime.Version(), "go"),
	}
	for _, sub := range []string{"common", kind} {
		entries, err := templates.ReadDir("templates/" + sub)
		if err != nil {
			return err
		}
		for _, e := range entries {
			src, err := templates.ReadFile("templates/" + sub + "/" + e.Name())
			if err != nil {
				return err
			}
			tmpl, err := template.New(e.Name()).Parse(string(src))
			if err != nil {
				return fmt.Errorf("template %s: %w", e.Name(), err)
			}
			var out bytes.Buffer
			if err := tmpl.Execute(&out, data); err != nil {
				return fmt.Errorf("template %s: %w", e.Name(), err)
			}
			target := filepath.Join(dir, strings.TrimSuffix(e.Name(), ".tmpl"))
			if err := os.WriteFile(target, out.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", target, err)
			}
		}
	}
	return nil
}

func newSHA256() *cobra.Command {
	return &cobra.Command{
		Use:   "sha256 PATH",
		Short: "Print a plugin block, pinned to the binary's SHA-256, for server.hcl",
		Example: `  rise plugin sha256 /opt/rise/plugins/rise-plugin-ecs >> server.hcl
  rise plugin list -c plugins.hcl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			base := filepath.Base(path)
			name, ok := strings.CutPrefix(base, "rise-plugin-")
			if !ok || !nameRE.MatchString(name) {
				return fmt.Errorf("%s: a plugin executable is named rise-plugin-<name> (lowercase letters, digits, '-', '_')", base)
			}
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("open plugin: %w", err)
			}
			defer f.Close()
			if st, err := f.Stat(); err == nil && (st.IsDir() || st.Mode()&0o111 == 0) {
				return errors.New(path + " is not an executable file")
			}
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				return fmt.Errorf("read plugin: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "plugin %q {\n  path   = %q\n  sha256 = %q\n}\n", name, path, hex.EncodeToString(h.Sum(nil)))
			return err
		},
	}
}
