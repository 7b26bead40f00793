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
// plugin (decode errors, Validate errors). The host attaches source ranges:
// the attribute's (or nested block's) range when Path names one that is set
// in the config file, else the component block's.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	// Path is the attribute path inside the config, e.g. ["token_ttl"] or
	// ["tls", "cert_file"] (a nested block, then its attribute; a labelled
	// block's labels and a list block's index follow the block name).
	Path []string `json:"path,omitempty"`
}

// Diagnostics is a list of diagnostics. It is an error, so Validate may
// return it; an empty list (or one of warnings only) is not a failure.
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

// Error joins the diagnostics' messages.
func (ds Diagnostics) Error() string {
	var msgs []string
	for _, d := range ds {
		m := d.Summary
		if d.Detail != "" {
			m += ": " + d.Detail
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

// Err returns the errors as one permanent error, or nil.
func (ds Diagnostics) Err() error {
	var errs Diagnostics
	for _, d := range ds {
		if d.Severity == SeverityError {
			errs = append(errs, d)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return Permanent(errors.New("invalid configuration: " + errs.Error()))
}

// AttributeError is a Validate error about one attribute (see AttrError).
type AttributeError struct {
	Path []string
	Err  error
}

func (e *AttributeError) Error() string { return e.Err.Error() }
func (e *AttributeError) Unwrap() error { return e.Err }

// AttrError marks err as a problem with the attribute at path ("token_ttl",
// or "tls.cert_file" inside a nested block), so the host reports it at that
// attribute's line. Join several with errors.Join. The message should still
// name the attribute: it is shown as is where there is no config file.
func AttrError(path string, err error) error {
	if err == nil {
		return nil
	}
	return &AttributeError{Path: strings.Split(path, "."), Err: err}
}

// diagsFromValidate turns a Validate error into diagnostics: Diagnostics as
// they are, AttributeErrors with their path, joined errors one by one, any
// other error as one diagnostic on the block.
func diagsFromValidate(err error) Diagnostics {
	var ds Diagnostics
	switch e := err.(type) {
	case nil:
		return nil
	case Diagnostics:
		return e
	case *AttributeError:
		return Diagnostics{{Summary: "Invalid configuration", Detail: e.Err.Error(), Path: e.Path}}
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			ds = append(ds, diagsFromValidate(inner)...)
		}
		return ds
	}
	d := Diagnostic{Summary: "Invalid configuration", Detail: err.Error()}
	var ae *AttributeError
	if errors.As(err, &ae) {
		d.Path = ae.Path
	}
	return Diagnostics{d}
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
