// Command rise-plugin-exec is an example third-party rise plugin: a runtime
// that runs an app as a local process instead of a container. It imports
// only rise's public SDK and is the walkthrough of docs/plugins.md.
//
// Build and install it:
//
//	go build -o ~/.config/rise/plugins/rise-plugin-exec ./examples/plugins/exec
//
// then select it in server.hcl with runtime "exec" { work_dir = "/var/lib/rise-exec" }.
package main

import "github.com/riseplatform/rise/sdk"

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "0.1.0"

func main() {
	sdk.Serve(sdk.Plugin{
		Name:       "exec",
		Version:    version,
		Components: []sdk.Component{Component()},
	})
}

// Component is the exec runtime.
func Component() sdk.Component {
	return sdk.Component{
		Name:        "exec",
		Description: "runs the workload's command as a local process with PORT set",
		New:         func() any { return new(Runtime) },
	}
}
