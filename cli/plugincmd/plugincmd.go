// Package plugincmd is `rise plugin`: list the available plugins, scaffold
// a new one (new), print a pinned plugin block (sha256), and the
// hidden `rise plugin serve <kind>/<name>` through which the rise binary
// serves its own built-in plugins out of process.
package plugincmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/sdk"
)

// Options configure the plugin command.
type Options struct {
	// Builtins are the components compiled into this binary.
	Builtins []sdk.Component
	// Version is the version of the built-in plugins (rise's version).
	Version string
	// Host creates the plugin host `rise plugin list` lists (with the
	// config's plugin blocks and plugin_dir). Nil: built-ins plus the
	// default plugin directories.
	// cfg is the server config given with --config, or nil.
	Host func(ctx context.Context, cfg *config.Server) (*pluginhost.Host, error)
}

// New returns the `plugin` command.
func New(opts Options) *cobra.Command {
	if opts.Host == nil {
		opts.Host = func(ctx context.Context, cfg *config.Server) (*pluginhost.Host, error) {
			o := pluginhost.Options{Builtins: opts.Builtins, Version: opts.Version}
			if cfg != nil {
				o.Plugins, o.PluginDirs = cfg.Plugins, pluginhost.PluginDirs(cfg.PluginDir)
			}
			return pluginhost.New(ctx, o)
		}
	}
	c := &cobra.Command{
		Use:   "plugin",
		Short: "List and serve plugins (builders, registries, runtimes)",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newList(opts), newServe(opts), newNew(), newSHA256())
	return c
}

func newList(opts Options) *cobra.Command {
	var configPath string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls", "l"},
		Short:   "List available plugins with kind, version, source and capabilities",
		Long: `List every builder, registry and runtime rise can use: the built-ins, plugins
declared with plugin "x" { path = ... } blocks, and rise-plugin-<name>
executables in $RISE_PLUGIN_DIR and ~/.config/rise/plugins. With --config,
also the plugin blocks and plugin_dir of that file: a server.hcl, or a file
with only plugin blocks (what rise plugin sha256 prints).`,
		Example: `  rise plugin list
  rise plugin list --config server.hcl -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Server
			if configPath != "" {
				var diags hcl.Diagnostics
				if cfg, diags = config.LoadPlugins(configPath); diags.HasErrors() {
					return errors.New(config.FormatDiagnostics(diags, nil))
				}
			}
			h, err := opts.Host(cmd.Context(), cfg)
			if err != nil {
				return fmt.Errorf("load plugins: %w", err)
			}
			defer h.Close()
			return printList(cmd.OutOrStdout(), h.List(), jsonOutput(cmd))
		},
	}
	c.Flags().StringVarP(&configPath, "config", "c", "", "server config (server.hcl) whose plugin blocks to include")
	return c
}

func jsonOutput(cmd *cobra.Command) bool {
	f := cmd.Flags().Lookup("output")
	return f != nil && f.Value.String() == output.FormatJSON
}

func printList(w io.Writer, infos []pluginhost.Info, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	t := output.NewTable(
		output.Column{Header: "KIND", Min: 11}, output.Column{Header: "NAME", Min: 14}, output.Column{Header: "VERSION", Min: 12},
		output.Column{Header: "SOURCE", Min: 12}, output.Column{Header: "CAPABILITIES"},
	)
	for _, i := range infos {
		caps := strings.Join(i.Capabilities, ",")
		if caps == "" {
			caps = "-"
		}
		t.Row(string(i.Kind), i.Name, i.Version, i.Source, caps)
	}
	return t.Render(w)
}

func newServe(opts Options) *cobra.Command {
	return &cobra.Command{
		Use:    "serve <kind>/<name> [describe | -debug]",
		Short:  "Serve a built-in plugin (run by rise itself)",
		Hidden: true,
		// Plugin arguments (-debug) are not rise flags, and the plugin
		// must not touch stdout or settings before serving.
		DisableFlagParsing: true,
		PersistentPreRunE:  func(*cobra.Command, []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("usage: rise plugin serve <kind>/<name> [describe | -debug]")
			}
			c, err := findBuiltin(opts.Builtins, args[0])
			if err != nil {
				return err
			}
			version := opts.Version
			if version == "" {
				version = "dev"
			}
			if code := sdk.Main(sdk.Plugin{Name: c.Name, Version: version, Components: []sdk.Component{c}}, args[1:]); code != 0 {
				os.Exit(code)
			}
			return nil
		},
	}
}

func findBuiltin(builtins []sdk.Component, key string) (sdk.Component, error) {
	var names []string
	for _, c := range builtins {
		k, err := sdk.KindOf(c)
		if err != nil {
			return sdk.Component{}, err
		}
		id := sdk.ComponentID{Kind: k, Name: c.Name}
		if id.String() == key {
			return c, nil
		}
		names = append(names, id.String())
	}
	return sdk.Component{}, fmt.Errorf("no built-in plugin %q (built-ins: %s)", key, strings.Join(names, ", "))
}
