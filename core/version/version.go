// Package version is rise's build version, set at link time:
//
//	go build -ldflags "-X github.com/riseplatform/rise/core/version.Version=v0.3.0"
package version

import "runtime/debug"

// Version is the release version of this binary ("dev" for untagged builds).
var Version = "dev"

// Commit returns the VCS revision the binary was built from, when known.
func Commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}
