package pluginhost

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/riseplatform/rise/sdk"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// DecodeConfig decodes a component's HCL block body against the schema the
// plugin declared, returning the HCL-JSON the plugin receives. Unknown
// attributes, missing required ones and type errors are diagnostics with
// the block's real source ranges. It does not start the plugin.
func (h *Host) DecodeConfig(kind sdk.Kind, name string, body hcl.Body) ([]byte, hcl.Diagnostics) {
	return h.DecodeConfigWithContext(kind, name, body, nil)
}

// DecodeConfigWithContext is DecodeConfig with an evaluation context
// (variables and functions such as env()).
func (h *Host) DecodeConfigWithContext(kind sdk.Kind, name string, body hcl.Body, ectx *hcl.EvalContext) ([]byte, hcl.Diagnostics) {
	c, err := h.component(kind, name)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Unknown %s plugin", kind), Detail: err.Error() + "."}}
	}
	if body == nil {
		return []byte("{}"), nil
	}
	val, diags := hcldec.Decode(body, SpecOf(c.info.Schema), ectx)
	if diags.HasErrors() {
		return nil, diags
	}
	if !val.IsWhollyKnown() {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown value in plugin config",
			Detail: fmt.Sprintf("The %s %q config uses a value that is not known yet.", kind, name)})
	}
	val = stripNulls(val)
	if val.IsNull() {
		return []byte("{}"), diags
	}
	b, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot encode plugin config", Detail: err.Error()})
	}
	return b, diags
}

// ValidateConfig asks the plugin to decode, provision and validate cfg. Its
// diagnostics are attributed to rng (the config block).
func (h *Host) ValidateConfig(ctx context.Context, kind sdk.Kind, name string, cfg []byte, rng hcl.Range) hcl.Diagnostics {
	subject := &rng
	if rng.Filename == "" {
		subject = nil
	}
	c, err := h.component(kind, name)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Unknown %s plugin", kind), Detail: err.Error() + ".", Subject: subject}}
	}
	var ds sdk.Diagnostics
	err = c.bin.call(ctx, "ValidateConfig", h.opts.CallTimeout, func(ctx context.Context, cl *sdk.Client) error {
		ds, err = cl.ValidateConfig(ctx, name, cfg)
		return err
	})
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: fmt.Sprintf("Cannot check %s %q config", kind, name), Detail: err.Error(), Subject: subject}}
	}
	var out hcl.Diagnostics
	for _, d := range ds {
		sev := hcl.DiagError
		if d.Severity == sdk.SeverityWarning {
			sev = hcl.DiagWarning
		}
		detail := d.Detail
		if len(d.Path) > 0 {
			detail = fmt.Sprintf("%s (at %s)", detail, strings.Join(d.Path, "."))
		}
		out = append(out, &hcl.Diagnostic{Severity: sev, Summary: fmt.Sprintf("%s %q: %s", kind, name, d.Summary), Detail: detail, Subject: subject})
	}
	return out
}

// SpecOf converts a plugin's config schema to an hcldec spec.
func SpecOf(s *sdk.Schema) hcldec.ObjectSpec {
	spec := hcldec.ObjectSpec{}
	if s == nil {
		return spec
	}
	for _, a := range s.Attributes {
		spec[a.Name] = &hcldec.AttrSpec{Name: a.Name, Type: a.Type, Required: a.Required}
	}
	for _, b := range s.Blocks {
		inner := SpecOf(b.Schema)
		switch {
		case len(b.Labels) > 0:
			spec[b.Name] = &hcldec.BlockMapSpec{TypeName: b.Name, LabelNames: b.Labels, Nested: inner}
		case b.Nesting == sdk.NestingList:
			spec[b.Name] = &hcldec.BlockTupleSpec{TypeName: b.Name, Nested: inner}
		default:
			spec[b.Name] = &hcldec.BlockSpec{TypeName: b.Name, Nested: inner, Required: b.Required}
		}
	}
	return spec
}

// stripNulls drops null attributes so the plugin's gohcl decode sees them
// as absent (gohcl rejects null values).
func stripNulls(v cty.Value) cty.Value {
	if v.IsNull() || !v.IsKnown() {
		return v
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType() || ty.IsMapType():
		m := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			if ev.IsNull() {
				continue
			}
			m[k.AsString()] = stripNulls(ev)
		}
		if ty.IsMapType() && !ty.ElementType().IsObjectType() {
			return v // a user map(...) attribute: keep as is
		}
		if len(m) == 0 {
			return cty.EmptyObjectVal
		}
		return cty.ObjectVal(m)
	case ty.IsTupleType() || ty.IsListType():
		if ty.IsListType() && !ty.ElementType().IsObjectType() {
			return v
		}
		var elems []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			elems = append(elems, stripNulls(ev))
		}
		if len(elems) == 0 {
			return cty.EmptyTupleVal
		}
		return cty.TupleVal(elems)
	}
	return v
}
