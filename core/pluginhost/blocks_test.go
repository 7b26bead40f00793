package pluginhost_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

// blocky is a registry whose config has every kind of block; Credentials
// echoes the decoded config so tests can see what the plugin received.
type blocky struct {
	Region  string            `hcl:"region"`
	Tags    map[string]string `hcl:"tags,optional"`
	Ports   []int             `hcl:"ports,optional"`
	Ingress *struct {
		Class string `hcl:"class"`
		TLS   bool   `hcl:"tls,optional"`
	} `hcl:"ingress,block"`
	Mirrors []struct {
		URL string `hcl:"url"`
	} `hcl:"mirror,block"`
	Sidecars []struct {
		Name  string `hcl:"name,label"`
		Image string `hcl:"image"`
	} `hcl:"sidecar,block"`
}

func blockyComponent() sdk.Component {
	return sdk.Component{Name: "blocky", New: func() any { return &blocky{} }}
}

func (b *blocky) Credentials(context.Context, *sdk.CredentialsRequest) (*sdk.Credentials, error) {
	j, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return &sdk.Credentials{Repository: "x", Username: string(j)}, nil
}

func TestDecodeConfigBlocksRoundTrip(t *testing.T) {
	h := newHost(t, nil)
	for _, tc := range []struct{ src, want string }{
		{`registry "blocky" {
  region = "eu-west-1"
  tags   = { team = "a" }
  ports  = [80, 443]
  ingress {
    class = "nginx"
  }
  mirror { url = "https://m1" }
  mirror { url = "https://m2" }
  sidecar "log" { image = "busybox" }
  sidecar "proxy" { image = "envoy" }
}`, `{"Region":"eu-west-1","Tags":{"team":"a"},"Ports":[80,443],"Ingress":{"Class":"nginx","TLS":false},` +
			`"Mirrors":[{"URL":"https://m1"},{"URL":"https://m2"}],"Sidecars":[{"Name":"log","Image":"busybox"},{"Name":"proxy","Image":"envoy"}]}`},
		{`registry "blocky" { region = "x" }`, `{"Region":"x","Tags":null,"Ports":null,"Ingress":null,"Mirrors":null,"Sidecars":null}`},
	} {
		body, rng := parseKindBlock(t, "registry", tc.src)
		cfg, diags := h.DecodeConfig(sdk.KindRegistry, "blocky", body)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if diags := h.ValidateConfig(context.Background(), sdk.KindRegistry, "blocky", cfg, rng); diags.HasErrors() {
			t.Fatalf("plugin rejected %s: %v", cfg, diags)
		}
		reg, _ := h.Registry(context.Background(), "blocky", cfg)
		c, err := reg.Credentials(context.Background(), &sdk.CredentialsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Username != tc.want {
			t.Errorf("config sent as %s\nplugin decoded %s\nwant          %s", cfg, c.Username, tc.want)
		}
	}
	body, _ := parseKindBlock(t, "registry", `registry "blocky" {
  ingress { tls = true }
}`)
	_, diags := h.DecodeConfig(sdk.KindRegistry, "blocky", body)
	if got := diags.Error(); len(diags) != 2 {
		t.Errorf("want 2 errors (region and ingress.class missing), got %s", got)
	}
}
