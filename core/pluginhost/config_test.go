package pluginhost_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/riseplatform/rise/sdk"
)

func hclRange() hcl.Range {
	return hcl.Range{Filename: "server.hcl", Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 10}}
}

func parseBlock(t *testing.T, src string) (hcl.Body, hcl.Range) {
	t.Helper()
	return parseKindBlock(t, "runtime", src)
}

func parseKindBlock(t *testing.T, kind, src string) (hcl.Body, hcl.Range) {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL([]byte(src), "server.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: kind, LabelNames: []string{"name"}}}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return content.Blocks[0].Body, content.Blocks[0].DefRange
}

func TestDecodeConfig(t *testing.T) {
	h := newHost(t, nil)
	body, rng := parseBlock(t, `
runtime "memory" {
  namespace     = "apps"
  healthy_after = "1s"
}
`)
	cfg, diags := h.DecodeConfig(sdk.KindRuntime, "memory", body)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if string(cfg) != `{"healthy_after":"1s","namespace":"apps"}` {
		t.Errorf("config JSON = %s", cfg)
	}
	if diags := h.ValidateConfig(context.Background(), sdk.KindRuntime, "memory", cfg, body, rng); len(diags) > 0 {
		t.Errorf("valid config: %v", diags)
	}

	// Optional attributes left out are absent, not null.
	body, _ = parseBlock(t, `runtime "memory" {}`)
	if cfg, diags := h.DecodeConfig(sdk.KindRuntime, "memory", body); diags.HasErrors() || string(cfg) != `{}` {
		t.Errorf("empty block: %s %v", cfg, diags)
	}

	body, _ = parseBlock(t, `
runtime "memory" {
  namespace = "apps"
  replicas  = 3
}
`)
	_, diags = h.DecodeConfig(sdk.KindRuntime, "memory", body)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "server.hcl:4,3-11: Unsupported argument") {
		t.Errorf("unknown attribute: want an error at server.hcl:4, got %v", diags)
	}

	// The plugin's own Validate runs in the plugin process; an error with an
	// attribute path is attributed to that attribute's line.
	body, rng = parseBlock(t, "\n\nruntime \"memory\" {\n  namespace     = \"apps\"\n  healthy_after = \"soon\"\n}\n")
	cfg, diags = h.DecodeConfig(sdk.KindRuntime, "memory", body)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	diags = h.ValidateConfig(context.Background(), sdk.KindRuntime, "memory", cfg, body, rng)
	if len(diags) != 1 || !strings.Contains(diags.Error(), `server.hcl:5,3-25: runtime "memory": Invalid configuration; healthy_after: time: invalid duration "soon"`) {
		t.Errorf("plugin validation: want the error at healthy_after (server.hcl:5), got %v", diags)
	}
	// Without the block body (a default config) it falls back to the block
	// and names the attribute.
	diags = h.ValidateConfig(context.Background(), sdk.KindRuntime, "memory", cfg, nil, rng)
	if !strings.Contains(diags.Error(), `server.hcl:3,1-17: runtime "memory": Invalid configuration; healthy_after: time: invalid duration "soon" (at healthy_after)`) {
		t.Errorf("plugin validation without body: %v", diags)
	}

	_, diags = h.DecodeConfig(sdk.KindRuntime, "kubernetes", body)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), `no runtime plugin named "kubernetes"`) {
		t.Errorf("unknown plugin: %v", diags)
	}
}
