package pluginhost_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
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

// Validate reports errors at nested paths when region is "bad".
func (b *blocky) Validate() error {
	if b.Region != "bad" {
		return nil
	}
	return errors.Join(
		sdk.AttrError("region", errors.New("region bad")),
		sdk.AttrError("ingress.class", errors.New("class bad")),
		sdk.AttrError("mirror.1.url", errors.New("second mirror bad")),
		sdk.AttrError("sidecar.proxy.image", errors.New("proxy image bad")),
		sdk.AttrError("sidecar.gone.image", errors.New("no such sidecar")),
	)
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
		if diags := h.ValidateConfig(context.Background(), sdk.KindRegistry, "blocky", cfg, body, rng); diags.HasErrors() {
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

func TestValidatePathsPointAtNestedAttributes(t *testing.T) {
	h := newHost(t, nil)
	body, rng := parseKindBlock(t, "registry", `registry "blocky" {
  region = "bad"
  ingress {
    class = "nginx"
  }
  mirror { url = "https://m1" }
  mirror { url = "https://m2" }
  sidecar "log" { image = "busybox" }
  sidecar "proxy" { image = "envoy" }
}`)
	cfg, diags := h.DecodeConfig(sdk.KindRegistry, "blocky", body)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	diags = h.ValidateConfig(context.Background(), sdk.KindRegistry, "blocky", cfg, body, rng)
	var got []string
	for _, d := range diags {
		got = append(got, d.Error())
	}
	want := []string{
		`server.hcl:2,3-17: registry "blocky": Invalid configuration; region bad`,
		`server.hcl:4,5-20: registry "blocky": Invalid configuration; class bad`,
		`server.hcl:7,12-30: registry "blocky": Invalid configuration; second mirror bad`,
		`server.hcl:9,21-36: registry "blocky": Invalid configuration; proxy image bad`,
		`server.hcl:1,1-18: registry "blocky": Invalid configuration; no such sidecar (at sidecar.gone.image)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
