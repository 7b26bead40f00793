package build

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2/gohcl"
	hcljson "github.com/hashicorp/hcl/v2/json"

	dockerbuilder "github.com/riseplatform/rise/plugins/builder/docker"
	packbuilder "github.com/riseplatform/rise/plugins/builder/pack"
	railpackbuilder "github.com/riseplatform/rise/plugins/builder/railpack"
	"github.com/riseplatform/rise/sdk"
)

// inProcess launches the built-in builders in this process, decoding their
// config the way the SDK does (HCL JSON into the hcl-tagged struct).
func inProcess(launched *[]string) Launcher {
	return func(ctx context.Context, name string, cfg []byte) (sdk.Builder, error) {
		comps := map[string]sdk.Component{"docker": dockerbuilder.Component(), "pack": packbuilder.Component(), "railpack": railpackbuilder.Component()}
		c, ok := comps[name]
		if !ok {
			return nil, fmt.Errorf("no builder plugin named %q", name)
		}
		if launched != nil {
			*launched = append(*launched, name+" "+string(cfg))
		}
		v := c.New()
		f, diags := hcljson.Parse(cfg, name+".json")
		if diags.HasErrors() {
			return nil, diags
		}
		if diags := gohcl.DecodeBody(f.Body, nil, v); diags.HasErrors() {
			return nil, diags
		}
		if val, ok := v.(sdk.Validator); ok {
			if err := val.Validate(); err != nil {
				return nil, err
			}
		}
		return v.(sdk.Builder), nil
	}
}
