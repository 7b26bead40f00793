package config

import (
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// LoadServer reads, decodes, defaults and validates the server config at
// path. Errors (and warnings) come back as diagnostics with file:line:col;
// the Server is nil when there are errors. Print them with
// FormatDiagnostics.
func LoadServer(path string) (*Server, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read server config",
			Detail:   fmt.Sprintf("Cannot read %s: %v.", path, err),
		}}
	}
	return ParseServer(src, path)
}

// ParseServer is LoadServer on src already read from filename.
func ParseServer(src []byte, filename string) (*Server, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, sorted(diags)
	}
	var s Server
	diags = append(diags, dropUnknownValueNoise(gohcl.DecodeBody(file.Body, EvalContext(), &s))...)
	if diags.HasErrors() {
		return nil, sorted(diags)
	}
	s.Filename = filename
	diags = append(diags, s.finish(file.Body)...)
	if diags.HasErrors() {
		return nil, sorted(diags)
	}
	return &s, sorted(diags)
}

// EvalContext is the evaluation context of server.hcl: it provides the
// env(NAME) and env(NAME, DEFAULT) function. The plugin host decodes
// component bodies (registry/runtime blocks) with it too, so env() works
// there as well.
func EvalContext() *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{"env": envFunc}}
}

// envFunc is env("NAME") or env("NAME", "default").
var envFunc = function.New(&function.Spec{
	Description: "Returns the value of an environment variable of the server process.",
	Params:      []function.Parameter{{Name: "name", Type: cty.String}},
	VarParam:    &function.Parameter{Name: "default", Type: cty.String},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if len(args) > 2 {
			return cty.NilVal, function.NewArgErrorf(2, "env takes a variable name and an optional default, not %d arguments", len(args))
		}
		name := args[0].AsString()
		if name == "" {
			return cty.NilVal, function.NewArgErrorf(0, "the variable name must not be empty")
		}
		if v, ok := os.LookupEnv(name); ok {
			return cty.StringVal(v), nil
		}
		if len(args) == 2 {
			return args[1], nil
		}
		return cty.NilVal, function.NewArgErrorf(0, "environment variable %s is not set; set it, or give a default: env(%q, \"...\")", name, name)
	},
})

// dropUnknownValueNoise removes gohcl's "value must be known" follow-up to a
// failed function call (env of an unset variable): the call's own
// diagnostic says what is wrong.
func dropUnknownValueNoise(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Detail == "Unsuitable value: value must be known" && len(diags) > 1 {
			continue
		}
		out = append(out, d)
	}
	return out
}
