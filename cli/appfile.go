package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/riseplatform/rise/cli/exitcode"
)

// appProjectFiles are read in order to find the project of the current directory.
var appProjectFiles = []string{"rise.hcl", ".rise.toml", "rise.toml"}

// appProject returns the project named in dir's rise.hcl / .rise.toml /
// rise.toml, or "" when there is none. Only the top-level `project`
// attribute is read here; the full app config is core/config's job.
func appProject(dir string) (name, file string, err error) {
	for _, f := range appProjectFiles {
		p := filepath.Join(dir, f)
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", p, fmt.Errorf("read %s: %w", p, err)
		}
		if filepath.Ext(f) == ".hcl" {
			name, err = hclProject(p, b)
		} else {
			var v struct {
				Project string `toml:"project"`
			}
			_, err = toml.Decode(string(b), &v)
			name = v.Project
			if err != nil {
				err = fmt.Errorf("%s: %w", p, err)
			}
		}
		return name, p, err
	}
	return "", "", nil
}

func hclProject(path string, src []byte) (string, error) {
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return "", diags
	}
	content, _, diags := f.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "project"}}})
	if diags.HasErrors() {
		return "", diags
	}
	attr, ok := content.Attributes["project"]
	if !ok {
		return "", nil
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return "", diags
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", fmt.Errorf("%s: project must be a string", attr.Range)
	}
	return v.AsString(), nil
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
	name, file, err := appProject(wd)
	if err != nil {
		return "", err
	}
	if name == "" {
		if file != "" {
			return "", exitcode.Usagef("no project given and %s sets none: pass the project name", filepath.Base(file))
		}
		return "", exitcode.Usagef("no project given: pass the project name or run in a directory with rise.hcl or .rise.toml")
	}
	return name, nil
}
