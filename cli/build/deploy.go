package build

import (
	"context"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/sdk"
)

// DeployFunc adapts Run to `rise deploy` (cli.SetBuilder): it builds
// req.Dir, pushes req.Image with the deployment's short-lived registry
// credentials and reports the build method and push start through the
// request's callbacks. With req.Local (`rise run`) it only builds req.Image
// into the local container engine.
func DeployFunc(launch Launcher) clictx.BuildFunc {
	return func(ctx context.Context, req clictx.BuildRequest) (*clictx.BuildResult, error) {
		var target *sdk.PushTarget
		if !req.Local {
			target = &sdk.PushTarget{Image: req.Image}
			if c := req.Credentials; c != nil {
				target.Credentials = &sdk.Credentials{Registry: c.Registry, Repository: c.Repository,
					Username: c.Username, Password: c.Password, ExpiresAt: c.ExpiresAt}
			}
		}
		args, err := parseBuildArgs(req.BuildArgs)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Usage, err)
		}
		opts := Options{Dir: req.Dir, Backend: req.Builder, Image: req.Image, Push: target, Launch: launch, OnPush: req.Pushing,
			Dockerfile: req.Dockerfile, BuilderImage: req.BuilderImage, Platform: req.Platform, NoCache: req.NoCache}
		if len(args) > 0 {
			opts.BuildArgs = args
		}
		if req.Building != nil {
			opts.OnBackend = func(b Backend) { req.Building(b.Method()) }
		}
		art, err := Run(ctx, opts, DiscardUI())
		if err != nil {
			return nil, err
		}
		return &clictx.BuildResult{Image: req.Image, Digest: art.Digest}, nil
	}
}
