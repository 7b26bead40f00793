package build

import (
	"fmt"
	"os"
	"testing"

	dockerbuilder "github.com/riseplatform/rise/plugins/builder/docker"
	packbuilder "github.com/riseplatform/rise/plugins/builder/pack"
	railpackbuilder "github.com/riseplatform/rise/plugins/builder/railpack"
	"github.com/riseplatform/rise/sdk"
)

// The test binary doubles as the built-in builder plugins, the way the rise
// binary does: `<test binary> plugin serve builder/<name>`.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		for _, c := range builtins() {
			if "builder/"+c.Name == os.Args[3] {
				os.Exit(sdk.Main(sdk.Plugin{Name: c.Name, Version: "test", Components: []sdk.Component{c}}, os.Args[4:]))
			}
		}
		fmt.Fprintf(os.Stderr, "no built-in %s\n", os.Args[3])
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func builtins() []sdk.Component {
	return []sdk.Component{dockerbuilder.Component(), packbuilder.Component(), railpackbuilder.Component()}
}
