package plugincmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/plugincmd"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	builtins := []sdk.Component{sdktest.MemoryRuntime(), sdktest.MemoryRegistry()}
	root := &cobra.Command{Use: "rise", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().StringP("output", "o", "table", "output format")
	root.AddCommand(plugincmd.New(plugincmd.Options{Builtins: builtins, Version: "1.0.0",
		Host: func(ctx context.Context, _ *config.Server) (*pluginhost.Host, error) {
			return pluginhost.New(ctx, pluginhost.Options{Builtins: builtins, Version: "1.0.0", PluginDirs: []string{}})
		}}))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestList(t *testing.T) {
	out, err := run(t, "plugin", "list")
	if err != nil {
		t.Fatal(err)
	}
	want := "KIND       NAME          VERSION     SOURCE      CAPABILITIES\n" +
		"registry   memory        1.0.0       built-in    repository\n" +
		"runtime    memory        1.0.0       built-in    logs,destroy\n"
	if out != want {
		t.Errorf("plugin list:\n%s\nwant:\n%s", out, want)
	}

	out, err = run(t, "plugin", "ls", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var infos []pluginhost.Info
	if err := json.Unmarshal([]byte(out), &infos); err != nil {
		t.Fatalf("plugin list -o json: %v\n%s", err, out)
	}
	if len(infos) != 2 || infos[1].Kind != sdk.KindRuntime || infos[1].Schema == nil || len(infos[1].Schema.Attributes) != 2 {
		t.Errorf("plugin list -o json = %+v", infos)
	}
}

func TestServeUnknownBuiltin(t *testing.T) {
	_, err := run(t, "plugin", "serve", "runtime/nope")
	if err == nil || !strings.Contains(err.Error(), `no built-in plugin "runtime/nope" (built-ins: runtime/memory, registry/memory)`) {
		t.Errorf("serve unknown: %v", err)
	}
}
