package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/riseplatform/rise/core/names"
)

// AppFiles are the app config file names LoadApp looks for, in order: the
// first one present wins. rise.toml comes before .rise.toml as in the
// reference rise.
var AppFiles = []string{"rise.hcl", "rise.toml", ".rise.toml"}

// ErrNoAppConfig means a directory has none of AppFiles. LoadApp's error
// wraps it (and fs.ErrNotExist).
var ErrNoAppConfig = errors.New("no rise.hcl, rise.toml or .rise.toml")

type noAppConfigError struct{ dir string }

func (e noAppConfigError) Error() string {
	return fmt.Sprintf("%s has no app config (rise.hcl, rise.toml or .rise.toml)", e.dir)
}
func (e noAppConfigError) Is(target error) bool {
	return target == ErrNoAppConfig || target == fs.ErrNotExist
}

// LoadApp reads the app config in dir: rise.hcl, else rise.toml, else
// .rise.toml (the seed's or the reference rise's TOML, mapped onto the same
// App). When several exist, the first wins and App.Warnings says so;
// App.Warnings also carries the file's own warnings. Invalid config is an
// hcl.Diagnostics error whose entries carry file:line:col; print it with
// FormatDiagnostics. A directory without config gives an error matching
// ErrNoAppConfig.
func LoadApp(dir string) (*App, error) {
	var app *App
	var ignored []string
	for _, name := range AppFiles {
		path := filepath.Join(dir, name)
		if app != nil {
			if _, err := os.Stat(path); err == nil {
				ignored = append(ignored, name)
			}
			continue
		}
		src, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read app config: %w", err)
		}
		var diags hcl.Diagnostics
		if strings.HasSuffix(name, ".hcl") {
			app, diags = ParseApp(src, path)
		} else {
			app, diags = ParseAppTOML(src, path)
		}
		if diags.HasErrors() {
			return nil, sorted(diags)
		}
		app.Warnings = diags
	}
	if app == nil {
		return nil, noAppConfigError{dir}
	}
	if len(ignored) > 0 {
		r := hcl.Range{Filename: app.Path, Start: hcl.InitialPos, End: hcl.InitialPos}
		app.Warnings = append(hcl.Diagnostics{{
			Severity: hcl.DiagWarning, Summary: "Several app files",
			Detail:  fmt.Sprintf("%s is used; %s in the same directory %s ignored (rise.hcl wins over rise.toml, which wins over .rise.toml).", filepath.Base(app.Path), strings.Join(ignored, " and "), map[bool]string{true: "is", false: "are"}[len(ignored) == 1]),
			Subject: &r,
		}}, app.Warnings...)
	}
	return app, nil
}

// ParseApp decodes and validates rise.hcl source read from filename.
func ParseApp(src []byte, filename string) (*App, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, sorted(diags)
	}
	var app App
	// No functions: app config is checked in and must not read the
	// developer's environment.
	diags = append(diags, dropUnknownValueNoise(gohcl.DecodeBody(file.Body, nil, &app))...)
	if diags.HasErrors() {
		return nil, sorted(diags)
	}
	app.Path = filename
	root := newNode(file.Body)
	diags = append(diags, app.check(func(block, attr string) hcl.Range {
		n := root
		if block != "" {
			n = root.block(block, 0)
		}
		if attr == "" {
			return n.rng
		}
		return n.attr(attr)
	})...)
	if diags.HasErrors() {
		return nil, sorted(diags)
	}
	return &app, sorted(diags)
}

var (
	quantityRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$`)
)

// locate returns the source range of attr in block ("" = top level), or of
// the block itself when attr is "".
type locate func(block, attr string) hcl.Range

// check validates a decoded App.
func (a *App) check(at locate) hcl.Diagnostics {
	c := &checker{}
	if a.Project != "" {
		if err := names.ValidateProject(a.Project); err != nil {
			c.errorf(at(a.projectAt()), "Invalid project", "%v.", err)
		}
	}
	// [project] access_class may name any access class (the server checks
	// it against its own); visibility is "public" or "private".
	if a.Visibility != "" && a.Visibility != "public" && a.Visibility != "private" &&
		(a.accessKey != "access_class" || !names.IsLabel(a.Visibility)) {
		table, _ := a.ownerAt()
		key := "visibility"
		if a.accessKey != "" {
			key = a.accessKey
		}
		hint := `use "public" or "private"`
		if key == "access_class" {
			hint = `use "public", "authenticated", "private" or another access class of the server (a lowercase DNS label)`
		}
		c.errorf(at(table, key), "Invalid visibility", "%q: %s.", a.Visibility, hint)
	}
	if a.Owner != "" && !ownerRE.MatchString(a.Owner) {
		c.errorf(at(a.ownerAt()), "Invalid owner", "%q: use \"user:<name>\" or \"team:<name>\".", a.Owner)
	}
	if a.Build != nil && !strings.HasSuffix(a.Path, ".toml") && !pluginNameRE.MatchString(a.Build.Builder) {
		c.errorf(at("build", ""), "Invalid builder",
			"%q is not a builder plugin name; use e.g. build \"docker\", build \"pack\" or build \"railpack\", or omit the build block to auto-detect.", a.Build.Builder)
	}
	if d := a.Deploy; d != nil {
		if d.Group != "" && !names.IsLabel(d.Group) {
			c.errorf(at("deploy", "group"), "Invalid group", "%q: a deployment group is 1-63 lowercase letters, digits or '-', e.g. \"default\" or \"mr-42\".", d.Group)
		}
		if d.Port < 0 || d.Port > 65535 {
			c.errorf(at("deploy", "port"), "Invalid port", "port must be from 1 to 65535 (the port the app listens on), not %d.", d.Port)
		}
		if d.Replicas < 0 || d.Replicas > 1000 {
			c.errorf(at("deploy", "replicas"), "Invalid replicas", "replicas must be from 0 to 1000, not %d.", d.Replicas)
		}
		for k := range d.Env {
			if !envNameRE.MatchString(k) {
				c.errorf(at("deploy", "env"), "Invalid env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit).", k)
			}
		}
		if d.HealthPath != "" && !strings.HasPrefix(d.HealthPath, "/") {
			c.errorf(at("deploy", "health_path"), "Invalid health_path", "health_path must be an absolute HTTP path like \"/healthz\", not %q.", d.HealthPath)
		}
		if d.CPU != "" && !quantityRE.MatchString(d.CPU) {
			c.errorf(at("deploy", "cpu"), "Invalid cpu", "%q is not a CPU quantity; expected cores like \"0.5\" or millicores like \"500m\".", d.CPU)
		}
		if d.Memory != "" && !quantityRE.MatchString(d.Memory) {
			c.errorf(at("deploy", "memory"), "Invalid memory", "%q is not a memory quantity; expected e.g. \"512Mi\" or \"1Gi\".", d.Memory)
		}
	}
	return c.diags
}

var ownerRE = regexp.MustCompile(`^(user|team):[^\s:]+$`)

// projectAt locates the project name: project = "x" at the top level, or
// [project] name = "x" in a reference rise rise.toml.
func (a *App) projectAt() (table, key string) {
	if a.projectTable {
		return "project", "name"
	}
	return "", "project"
}

func (a *App) ownerAt() (table, key string) {
	if a.projectTable {
		return "project", "owner"
	}
	return "", "owner"
}
