// Command rise is the whole of rise in one binary: the CLI, `rise server`,
// and every built-in plugin (each runs out of process as
// `rise plugin serve <kind>/<name>`).
package main

import (
	"context"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli"
	"github.com/riseplatform/rise/cli/build"
	"github.com/riseplatform/rise/cli/plugincmd"
	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/core/version"
	dockerbuilder "github.com/riseplatform/rise/plugins/builder/docker"
	"github.com/riseplatform/rise/plugins/builder/pack"
	"github.com/riseplatform/rise/plugins/builder/railpack"
	dockerregistry "github.com/riseplatform/rise/plugins/registry/docker"
	"github.com/riseplatform/rise/plugins/registry/ecr"
	dockerruntime "github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/plugins/runtime/kubernetes"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/wire"
)

// builtins are the plugins compiled into rise.
var builtins = []sdk.Component{
	dockerbuilder.Component(),
	pack.Component(),
	railpack.Component(),
	dockerregistry.Component(),
	ecr.Component(),
	dockerruntime.Component(),
	kubernetes.Component(),
}

func main() {
	code := run()
	pluginhost.Cleanup() // no plugin process outlives rise
	os.Exit(code)
}

func run() int {
	w := wire.Options{Builtins: builtins, Version: version.Version}
	builders := &cliHost{opts: pluginhost.Options{Builtins: builtins, Version: version.Version}}
	defer builders.close()

	cli.SetBuilder(build.DeployFunc(builders.Builder))
	return cli.Main(
		grouped(cli.GroupApps, build.NewCommand(builders.Builder)),
		grouped(cli.GroupPlatform, server.NewCommand(server.CommandOptions{
			Version:    version.Version,
			Commit:     version.Commit(),
			Wire:       wire.Server(w),
			Check:      wire.Check(w),
			RotateKeys: wire.RotateKeys,
		})),
		grouped(cli.GroupPlatform, plugincmd.New(plugincmd.Options{Builtins: builtins, Version: version.Version})),
	)
}

func grouped(group string, c *cobra.Command) *cobra.Command {
	c.GroupID = group
	return c
}

// cliHost starts the CLI's plugin host (builders) on first use, so commands
// that build nothing never fingerprint plugins.
type cliHost struct {
	opts pluginhost.Options
	once sync.Once
	host *pluginhost.Host
	err  error
}

func (c *cliHost) Builder(ctx context.Context, name string, cfg []byte) (sdk.Builder, error) {
	c.once.Do(func() { c.host, c.err = pluginhost.New(ctx, c.opts) })
	if c.err != nil {
		return nil, c.err
	}
	return c.host.Builder(ctx, name, cfg)
}

func (c *cliHost) close() {
	if c.host != nil {
		c.host.Close()
	}
}
