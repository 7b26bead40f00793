package wire_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/riseplatform/rise/core/config"
	dockerregistry "github.com/riseplatform/rise/plugins/registry/docker"
	dockerruntime "github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/wire"
)

var builtins = []sdk.Component{dockerregistry.Component(), dockerruntime.Component()}

// The test binary doubles as `rise plugin serve <kind>/<name>`: the plugin
// host launches built-ins by re-executing its own binary.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		for _, c := range builtins {
			k, _ := sdk.KindOf(c)
			if (sdk.ComponentID{Kind: k, Name: c.Name}).String() == os.Args[3] {
				os.Exit(sdk.Main(sdk.Plugin{Name: c.Name, Version: "test", Components: []sdk.Component{c}}, os.Args[4:]))
			}
		}
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// A bad plugin setting is reported at its own line of server.hcl, by the
// real built-in plugins running out of process.
func TestPluginSettingErrorsPointAtTheirLine(t *testing.T) {
	src := `database { url = "postgres://127.0.0.1:1/rise" }
registry "docker" {
  url       = "127.0.0.1:5000"
  state_dir = "` + t.TempDir() + `"
  token_ttl = "soon"
}

runtime "docker" {
  bind_address   = "127.0.0.1"
  restart_policy = "sometimes"
}
`
	cfg, diags := config.ParseServer([]byte(src), "server.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, err := wire.StartPlugins(context.Background(), wire.Options{Builtins: builtins, Version: "test"}, cfg, hclog.NewNullLogger(), nil)
	if err == nil {
		p.Host.Close()
		t.Fatal("StartPlugins accepted an invalid token_ttl and restart_policy")
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{
		"server.hcl line 5", `token_ttl "soon" is not a positive duration`,
		"server.hcl line 10", `restart_policy: "sometimes" is not one of`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
}
