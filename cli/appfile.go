package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/config"
)

// loadApp reads dir's app config (rise.hcl, .rise.toml or rise.toml);
// (nil, nil) when there is none. Invalid config is an error showing
// file and line.
func loadApp(dir string) (*config.App, error) {
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
	return app, nil
}

// projectArg returns the project named by args[0], else the one in the
// current directory's app config, else a usage error.
func projectArg(args []string) (string, error) {
	if len(args) > 0 && args[0] != "" {
		return args[0], nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find current directory: %w", err)
	}
	return projectIn(wd)
}

func projectIn(dir string) (string, error) {
	app, err := loadApp(dir)
	if err != nil {
		return "", err
	}
	if app == nil {
		return "", exitcode.Usagef("no project given: pass the project name or run in a directory with rise.hcl or .rise.toml")
	}
	if app.Project == "" {
		return "", exitcode.Usagef("no project given and %s sets none: pass the project name", filepath.Base(app.Path))
	}
	return app.Project, nil
}
