// Command rise-plugin-tarball is an example builder plugin of the kind a
// platform team ships for its developers: it packages a directory of
// prebuilt files (a static site, a compiled binary) as one layer on top of
// the company's base image, without Docker, and pushes the image with the
// short-lived credentials rise hands out. docs/builder-plugins.md walks
// through it.
//
//	go build -o ~/.config/rise/plugins/rise-plugin-tarball ./examples/plugins/tarball-builder
//
// Developers select it in rise.hcl with build "tarball" { source = "dist" }.
package main

import "github.com/riseplatform/rise/sdk"

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "0.1.0"

func main() {
	sdk.Serve(sdk.Plugin{Name: "tarball", Version: version, Components: []sdk.Component{Component()}})
}

// Component is the tarball builder.
func Component() sdk.Component {
	return sdk.Component{
		Name:        "tarball",
		Description: "packages a directory of prebuilt files onto a base image, without Docker",
		New:         func() any { return new(Builder) },
	}
}
