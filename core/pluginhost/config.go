package pluginhost

import (
	"context"
	"fmt"
	"slices"
	"strconv"
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
	val = clean(val, c.info.Schema)
	if val.IsNull() {
		return []byte("{}"), diags
	}
	b, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot encode plugin config", Detail: err.Error()})
	}
	return b, diags
}

// ValidateConfig asks the plugin to validate cfg (Validate, then Provision
// and Cleanup). A diagnostic whose path names an attribute or nested block
// set in body is attributed to its source range; others to rng (the config
// block). body may be nil.
func (h *Host) ValidateConfig(ctx context.Context, kind sdk.Kind, name string, cfg []byte, body hcl.Body, rng hcl.Range) hcl.Diagnostics {
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
		ds, err = cl.ValidateConfig(ctx, c.info.ID(), cfg)
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
		detail, subj := d.Detail, subject
		if r, ok := pathRange(body, c.info.Schema, d.Path); ok {
			subj = &r
		} else if len(d.Path) > 0 {
			detail = fmt.Sprintf("%s (at %s)", detail, strings.Join(d.Path, "."))
		}
		out = append(out, &hcl.Diagnostic{Severity: sev, Summary: fmt.Sprintf("%s %q: %s", kind, name, d.Summary), Detail: detail, Subject: subj})
	}
	return out
}

// pathRange finds the source range of the attribute (or nested block) at
// path in body, following the plugin's schema: a block name is followed by
// its labels (labelled blocks) or an index (list blocks, default the first).
func pathRange(body hcl.Body, s *sdk.Schema, path []string) (hcl.Range, bool) {
	if body == nil || s == nil || len(path) == 0 {
		return hcl.Range{}, false
	}
	for _, a := range s.Attributes {
		if a.Name == path[0] {
			content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: a.Name}}})
			if at, ok := content.Attributes[a.Name]; ok {
				return at.Range, true
			}
			return hcl.Range{}, false
		}
	}
	for _, b := range s.Blocks {
		if b.Name != path[0] {
			continue
		}
		content, _, _ := body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: b.Name, LabelNames: b.Labels}}})
		rest := path[1:]
		var blk *hcl.Block
		switch {
		case len(b.Labels) > 0:
			for _, cand := range content.Blocks {
				if len(rest) >= len(cand.Labels) && slices.Equal(rest[:len(cand.Labels)], cand.Labels) {
					blk, rest = cand, rest[len(cand.Labels):]
					break
				}
			}
		case len(content.Blocks) > 0:
			i := 0
			if len(rest) > 0 {
				if n, err := strconv.Atoi(rest[0]); err == nil {
					i, rest = n, rest[1:]
				}
			}
			if i >= 0 && i < len(content.Blocks) {
				blk = content.Blocks[i]
			}
		}
		if blk == nil {
			return hcl.Range{}, false
		}
		if r, ok := pathRange(blk.Body, b.Schema, rest); ok {
			return r, true
		}
		return blk.DefRange, true
	}
	return hcl.Range{}, false
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

// clean drops null attributes and empty block collections from a decoded
// config, following the schema, so the plugin's gohcl decode sees them as
// absent (gohcl rejects nulls, and an empty labelled-block object is
// invalid HCL-JSON).
func clean(v cty.Value, s *sdk.Schema) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	m := map[string]cty.Value{}
	if s != nil {
		for _, a := range s.Attributes {
			if av := v.GetAttr(a.Name); !av.IsNull() {
				m[a.Name] = av
			}
		}
		for _, b := range s.Blocks {
			bv := v.GetAttr(b.Name)
			if bv.IsNull() || (bv.CanIterateElements() && bv.LengthInt() == 0) {
				continue
			}
			m[b.Name] = cleanBlocks(bv, b, len(b.Labels))
		}
	}
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// cleanBlocks cleans a block value: an object (single block), a tuple of
// objects (list), or maps keyed by the labels, one level per label.
func cleanBlocks(v cty.Value, b sdk.BlockSchema, labels int) cty.Value {
	switch {
	case labels > 0:
		m := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			m[k.AsString()] = cleanBlocks(ev, b, labels-1)
		}
		return cty.ObjectVal(m)
	case v.Type().IsTupleType() || v.Type().IsListType():
		var elems []cty.Value
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			elems = append(elems, clean(ev, b.Schema))
		}
		return cty.TupleVal(elems)
	default:
		return clean(v, b.Schema)
	}
}
