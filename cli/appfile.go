package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
)

// loadApp reads dir's app config (rise.hcl, rise.toml or .rise.toml);
// (nil, nil) when there is none. Invalid config is an error showing file
// and line; warnings (ignored sections, several app files) go to cmd's
// stderr.
func loadApp(cmd *cobra.Command, dir string) (*config.App, error) {
	app, err := config.LoadApp(dir)
	if errors.Is(err, config.ErrNoAppConfig) {
		return nil, nil
	}
	var diags hcl.Diagnostics
	if errors.As(err, &diags) {
		return nil, fmt.Errorf("invalid app config:\n%s", strings.TrimRight(config.FormatDiagnostics(diags, nil), "\n"))
	}
	if err != nil {
		return nil, err
	}
	if cmd != nil && len(app.Warnings) > 0 {
		if env := envOf(cmd); env != nil {
			for _, w := range app.Warnings {
				env.Printer.Warnf("%s: %s", w.Subject.String(), w.Detail)
			}
		}
	}
	return app, nil
}

// addProjectFlag gives a project-scoped command -p/--project (as the
// reference rise has on every such command); the positional PROJECT, where
// the command has one, stays.
func addProjectFlag(c *cobra.Command) *cobra.Command {
	c.Flags().StringP("project", "p", "", "project name (default: the project in ./rise.hcl, ./rise.toml or ./.rise.toml)")
	_ = c.RegisterFlagCompletionFunc("project", completeProjects)
	return c
}

// projectFlag is the command's -p/--project value ("" when unset or the
// command has none).
func projectFlag(cmd *cobra.Command) string {
	if cmd == nil || cmd.Flags().Lookup("project") == nil {
		return ""
	}
	p, _ := cmd.Flags().GetString("project")
	return p
}

// projectArg returns the project named by -p/--project or args[0], else
// the one in the current directory's app config, else a usage error.
func projectArg(cmd *cobra.Command, args []string) (string, error) {
	var pos string
	if len(args) > 0 {
		pos = args[0]
	}
	if flag := projectFlag(cmd); flag != "" {
		if pos != "" && pos != flag {
			return "", exitcode.Usagef("project given twice: %q as an argument and %q with --project; pass one", pos, flag)
		}
		return flag, nil
	}
	if pos != "" {
		return pos, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find current directory: %w", err)
	}
	return projectIn(cmd, wd)
}

// projectAndName splits [PROJECT] NAME (PROJECT from an argument, -p or
// the app config; see projectArg): the arguments of commands about one
// thing of a project (an environment, a domain, an app user).
func projectAndName(cmd *cobra.Command, args []string) (project, name string, err error) {
	name = args[len(args)-1]
	project, err = projectArg(cmd, args[:len(args)-1])
	return project, name, err
}

// projectClient is the preamble of a command about a project: the project
// (projectArg), the environment and an API client.
func projectClient(cmd *cobra.Command, args []string) (string, *clictx.Env, *api.Client, error) {
	project, err := projectArg(cmd, args)
	if err != nil {
		return "", nil, nil, err
	}
	env := envOf(cmd)
	c, err := env.Client()
	if err != nil {
		return "", nil, nil, err
	}
	return project, env, c, nil
}

func projectIn(cmd *cobra.Command, dir string) (string, error) {
	app, err := loadApp(cmd, dir)
	if err != nil {
		return "", err
	}
	return projectOf(app)
}

// projectOf is the project app names, or a usage error.
func projectOf(app *config.App) (string, error) {
	if app == nil {
		return "", exitcode.Usagef("no project given: pass the project name (or -p NAME) or run in a directory with rise.hcl, rise.toml or .rise.toml")
	}
	if app.Project == "" {
		return "", exitcode.Usagef("no project given and %s sets none: pass the project name (or -p NAME)", filepath.Base(app.Path))
	}
	return app.Project, nil
}
