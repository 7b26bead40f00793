package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// pluginsOnly is the part of server.hcl that says where plugins are.
type pluginsOnly struct {
	PluginDir string    `hcl:"plugin_dir,optional"`
	Plugins   []*Plugin `hcl:"plugin,block"`
	Rest      hcl.Body  `hcl:",remain"`
}

// LoadPlugins reads only the plugin blocks and plugin_dir of a config file
// (a full server.hcl, or a file with nothing but plugin blocks), with paths
// resolved and checked like LoadServer does. `rise plugin list -c` uses it.
func LoadPlugins(path string) (*Server, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read config", Detail: fmt.Sprintf("Cannot read %s: %v.", path, err)}}
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, sorted(diags)
	}
	var p pluginsOnly
	if diags := gohcl.DecodeBody(file.Body, EvalContext(), &p); diags.HasErrors() {
		return nil, sorted(diags)
	}
	s := &Server{Filename: path, PluginDir: resolvePath(p.PluginDir, path), Plugins: p.Plugins}
	for _, pl := range s.Plugins {
		if !pluginNameRE.MatchString(pl.Name) {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid plugin name",
				Detail: fmt.Sprintf("%q: plugin names are lowercase letters, digits, '-' and '_'.", pl.Name)}}
		}
		pl.Path = resolvePath(pl.Path, path)
		pl.SHA256 = strings.ToLower(strings.TrimPrefix(pl.SHA256, "sha256:"))
	}
	return s, nil
}
