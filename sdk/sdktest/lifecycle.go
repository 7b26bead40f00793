package sdktest

import (
	"reflect"
	"testing"

	"github.com/hashicorp/hcl/v2/gohcl"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/riseplatform/rise/sdk"
)

// checkLifecycle checks a component against the SDK's lifecycle contract
// (in-process suites only): Validate accepts the valid test config as
// decoded, before Provision applied any defaults, and is pure: it leaves
// the value as it found it.
func checkLifecycle(t *testing.T, c sdk.Component, cfg []byte) {
	t.Helper()
	t.Run("Lifecycle", func(t *testing.T) {
		v := c.New()
		f, diags := hcljson.Parse(cfg, c.Name+" config")
		if diags.HasErrors() {
			t.Fatalf("parse config: %v", diags)
		}
		if diags := gohcl.DecodeBody(f.Body, nil, v); diags.HasErrors() {
			t.Fatalf("decode config: %v", diags)
		}
		val, ok := v.(sdk.Validator)
		if !ok {
			return
		}
		rv := reflect.ValueOf(v)
		var before any
		if rv.Kind() == reflect.Pointer {
			before = rv.Elem().Interface()
		}
		if err := val.Validate(); err != nil {
			if ds, isDiags := err.(sdk.Diagnostics); !isDiags || ds.HasErrors() {
				t.Fatalf("Validate rejected the valid config before Provision (the SDK runs Validate first; "+
					"defaults come later, so treat unset attributes as their default): %v", err)
			}
		}
		if before != nil && !reflect.DeepEqual(before, rv.Elem().Interface()) {
			t.Errorf("Validate changed the component value: it must only check (set derived values in Provision)")
		}
	})
}
