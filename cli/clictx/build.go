package clictx

import (
	"context"

	"github.com/riseplatform/rise/core/api"
)

// BuildRequest asks the build orchestration (cli/build) to build an app
// directory into an image and push it with the server's credentials.
type BuildRequest struct {
	Dir         string // app directory
	Builder     string // builder plugin ("docker", "pack", "railpack"); "" = from rise.hcl or auto-detect
	Image       string // target reference repo:tag, e.g. 127.0.0.1:5000/rise/secret-app:20261123-142501
	Credentials *api.RegistryCredentials
	// Building is called once the build method is known, with a
	// human name for it ("buildpacks", "Dockerfile", "railpack"); Pushing
	// when the push begins. Both may be nil.
	Building func(method string)
	Pushing  func()

	// Build options from flags; they override the app config's.
	Dockerfile string
	// BuilderImage is the buildpacks builder image (pack builder only).
	BuilderImage string
	BuildArgs    []string // KEY=VALUE, or KEY for the environment's value
	Platform     string
	NoCache      bool
	// Local builds into the local container engine without pushing
	// (`rise run`); Image is then a local tag and Credentials nil.
	Local bool
}

// BuildResult is the pushed image.
type BuildResult struct {
	Image  string // repo:tag pushed
	Digest string // sha256:...
}

// BuildFunc builds and pushes. Errors before Pushing is called count as
// build failures (exit 10), after it as push failures (exit 11), unless the
// error carries its own exit code.
type BuildFunc func(ctx context.Context, req BuildRequest) (*BuildResult, error)
