package sdk

import (
	"errors"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Severity of a diagnostic.
type Severity int

const (
	SeverityError Severity = iota
	SeverityWarning
)

// Diagnostic is a problem with a component's configuration, reported by the
// plugin (decode errors, Validate errors). The host attaches source ranges.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	Path     []string `json:"path,omitempty"` // attribute path inside the config, if known
}

// Diagnostics is a list of diagnostics.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Err returns the errors as one permanent error, or nil.
func (ds Diagnostics) Err() error {
	var msgs []string
	for _, d := range ds {
		if d.Severity != SeverityError {
			continue
		}
		m := d.Summary
		if d.Detail != "" {
			m += ": " + d.Detail
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	return Permanent(errors.New("invalid configuration: " + strings.Join(msgs, "; ")))
}

func diagsFromHCL(hd hcl.Diagnostics) Diagnostics {
	var ds Diagnostics
	for _, d := range hd {
		sev := SeverityError
		if d.Severity == hcl.DiagWarning {
			sev = SeverityWarning
		}
		ds = append(ds, Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail})
	}
	return ds
}
