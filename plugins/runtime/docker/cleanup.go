package docker

import "github.com/riseplatform/rise/sdk"

var _ sdk.Cleaner = (*Runtime)(nil)

// Cleanup closes the Docker client when the SDK evicts this configuration
// or the plugin process shuts down.
func (r *Runtime) Cleanup() error { return r.Close() }
