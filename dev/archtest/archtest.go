// Package archtest enforces rise's import direction:
//
//	cmd → cli, server → core → sdk
//	plugins/<kind>/<name> → sdk only (never another plugin)
//	examples/... → sdk only
//	sdk → nothing of the module outside sdk/
//	dev/ → anything, but nothing outside dev/ imports dev/ (tests and
//	        *test helper packages such as server/servertest may)
//
// The check runs as a test over `go list` output (non-test imports only).
package archtest

import (
	"fmt"
	"sort"
	"strings"
)

// Module is rise's module path.
const Module = "github.com/riseplatform/rise"

// Package is one package and its module-internal imports (relative paths,
// e.g. "core/pluginhost").
type Package struct {
	Path    string
	Imports []string
}

// layer returns the top-level directory of a relative package path.
func layer(rel string) string {
	first, _, _ := strings.Cut(rel, "/")
	return first
}

// allowedLayers: which layers each layer may import (itself implied).
var allowedLayers = map[string][]string{
	"sdk":        {},
	"core":       {"sdk"},
	"server":     {"core", "sdk", "migrations"},
	"cli":        {"core", "sdk"},
	"cmd":        {"cli", "server", "core", "sdk", "plugins", "migrations"},
	"migrations": {},
}

// unit returns the import-isolation unit of a plugin or example package:
// plugins/<kind>/<name> or examples/<...>/<name> (its first three segments).
func unit(rel string) string {
	parts := strings.SplitN(rel, "/", 4)
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, "/")
}

// isTestHelper reports whether a package is a test helper by name
// (servertest, sdktest), which may use dev/ helpers like tests do.
func isTestHelper(rel string) bool {
	return strings.HasSuffix(rel[strings.LastIndexByte(rel, '/')+1:], "test")
}

// Check returns one message per forbidden import, sorted.
func Check(pkgs []Package) []string {
	var bad []string
	for _, p := range pkgs {
		from := layer(p.Path)
		for _, imp := range p.Imports {
			to := layer(imp)
			if reason := forbidden(p.Path, from, imp, to); reason != "" {
				bad = append(bad, fmt.Sprintf("%s imports %s: %s", p.Path, imp, reason))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func forbidden(path, from, imp, to string) string {
	if to == "dev" && from != "dev" {
		if isTestHelper(path) {
			return ""
		}
		return "dev/ holds test and development helpers; only tests and *test helper packages may import it"
	}
	switch from {
	case "dev":
		return ""
	case "plugins", "examples":
		if to == "sdk" {
			return ""
		}
		if unit(imp) == unit(path) {
			return ""
		}
		return from + "/ packages import only sdk/ (and their own subpackages)"
	}
	if to == from {
		return ""
	}
	allowed, known := allowedLayers[from]
	if !known {
		return "" // top-level packages outside the layering are not checked
	}
	for _, a := range allowed {
		if a == to {
			return ""
		}
	}
	if len(allowed) == 0 {
		return from + "/ imports nothing else of the module"
	}
	return fmt.Sprintf("%s/ may import only %s", from, strings.Join(allowed, ", "))
}
