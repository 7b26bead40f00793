package config

import (
	"cmp"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// FormatDiagnostics renders diags for people: each with its severity,
// summary, file:line:col, a snippet of the source with the offending part
// marked, and the detail. files maps file names to parsed files; files not in
// it (or a nil map) are read from disk when a diagnostic points into them.
func FormatDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) string {
	all := make(map[string]*hcl.File, len(files))
	for name, f := range files {
		all[name] = f
	}
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Filename == "" {
			continue
		}
		if _, ok := all[d.Subject.Filename]; ok {
			continue
		}
		if src, err := os.ReadFile(d.Subject.Filename); err == nil {
			all[d.Subject.Filename] = &hcl.File{Bytes: src}
		}
	}
	var b strings.Builder
	w := hcl.NewDiagnosticTextWriter(&b, all, 0, false)
	_ = w.WriteDiagnostics(diags) // writes to a strings.Builder cannot fail
	return b.String()
}

// sorted orders diags by source position (gohcl reports in map order), so
// people and golden files see them top to bottom.
func sorted(diags hcl.Diagnostics) hcl.Diagnostics {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		if a.Subject == nil || b.Subject == nil {
			return cmp.Compare(boolInt(a.Subject != nil), boolInt(b.Subject != nil))
		}
		return cmp.Or(cmp.Compare(a.Subject.Filename, b.Subject.Filename), cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte))
	})
	return diags
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
