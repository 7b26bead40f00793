package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/sdk"
)

// Options describe one build.
type Options struct {
	Dir     string // app directory; default "."
	Project string // project name (labels, default tag); default from the app config or the directory name
	Image   string // tag for the result (repo:tag); default <project>:latest
	Backend string // --backend; empty = rise.hcl / rise.toml / .rise.toml / auto-detect
	// Push, when set, pushes the image there with its credentials.
	Push *sdk.PushTarget

	Dockerfile      string            // --dockerfile (docker builder only)
	BuilderImage    string            // --builder: the buildpacks builder image (pack builder only)
	BuildArgs       map[string]string // --build-arg
	Platform        string            // --platform
	NoCache         bool              // --no-cache
	ManagedBuildkit bool              // --managed-buildkit; RISE_MANAGED_BUILDKIT also enables it

	Launch Launcher // starts builder plugins (required)
	// AppWarnings prints the app config's warnings (ignored sections,
	// several app files) to Warn; `rise deploy` prints them itself.
	AppWarnings bool

	// Hooks for callers that show their own progress; all optional.
	OnBackend func(Backend)       // once the builder is chosen
	OnPush    func()              // when the builder starts its "Pushing..." step
	Warn      io.Writer           // warnings such as SSLWarning; default os.Stderr
	Getenv    func(string) string // default os.Getenv
	Docker    DockerRunner        // runs docker for managed BuildKit; default the docker CLI
}

// Run builds opts.Dir with the chosen builder and returns the artifact:
// pushed (with its digest) when opts.Push is set, else local.
func Run(ctx context.Context, opts Options, ui sdk.UI) (*sdk.Artifact, error) {
	if opts.Launch == nil {
		return nil, errors.New("build: no builder launcher (the plugin host is not wired in)")
	}
	if opts.Dir == "" {
		opts.Dir = "."
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("app directory: %w", err)
	}
	app, err := config.LoadApp(dir)
	if err != nil && !errors.Is(err, config.ErrNoAppConfig) {
		return nil, err
	}
	if app != nil {
		if err := appOptions(&opts, app); err != nil {
			return nil, err
		}
	}
	b, err := Choose(ctx, opts.Launch, opts.Backend, app, dir)
	if err != nil {
		return nil, err
	}
	if opts.Dockerfile != "" {
		if b.Name != "docker" {
			return nil, fmt.Errorf("--dockerfile only applies to the docker builder, not %q", b.Name)
		}
		b.Config["dockerfile"] = opts.Dockerfile
	}
	if opts.BuilderImage != "" {
		if b.Name != "pack" {
			return nil, fmt.Errorf("--builder %s (a buildpacks builder image) only applies to the pack builder, not %q", opts.BuilderImage, b.Name)
		}
		b.Config["builder"] = opts.BuilderImage
	}
	if opts.Project == "" && app != nil {
		opts.Project = app.Project
	}
	if opts.Project == "" {
		opts.Project = filepath.Base(dir)
	}
	if opts.Image == "" {
		if opts.Push != nil {
			opts.Image = opts.Push.Image
		} else {
			opts.Image = opts.Project + ":latest"
		}
	}
	if opts.OnBackend != nil {
		opts.OnBackend(b)
	}
	env, err := buildEnv(ctx, &opts, b)
	if err != nil {
		return nil, err
	}
	builder, err := launch(ctx, opts.Launch, b)
	if err != nil {
		return nil, err
	}
	if opts.OnPush != nil {
		ui = &pushWatch{UI: ui, onPush: opts.OnPush}
	}
	art, err := builder.Build(ctx, &sdk.BuildRequest{
		Project: opts.Project, Dir: dir, Image: opts.Image, Target: opts.Push,
		Platform: opts.Platform, BuildArgs: opts.BuildArgs, Env: env, NoCache: opts.NoCache,
	}, ui)
	if err != nil {
		return nil, err
	}
	if art.Labels == nil {
		art.Labels = map[string]string{}
	}
	art.Labels["rise.builder"] = b.Name
	return art, nil
}

// Choose picks the builder: backend (--backend) > the app config's build
// block (rise.hcl build "<name>" {...}, or .rise.toml [build] backend) >
// auto-detection. A build block without a builder (a .rise.toml [build]
// without backend) gives options to the auto-detected builder.
func Choose(ctx context.Context, l Launcher, backend string, app *config.App, dir string) (Backend, error) {
	var fromApp map[string]any
	if app != nil && app.Build != nil {
		cfg, err := bodyConfig(app.Build.Body)
		if err != nil {
			return Backend{}, fmt.Errorf("%s: %w", app.Path, err)
		}
		fromApp = cfg
		if backend == "" && app.Build.Builder != "" {
			return Backend{Name: app.Build.Builder, Config: cfg, Source: filepath.Base(app.Path)}, nil
		}
	}
	if backend != "" {
		b, err := ParseBackend(backend)
		if err != nil {
			return Backend{}, err
		}
		// Options from the app config apply when it names the same builder.
		if app != nil && app.Build != nil && app.Build.Builder == b.Name {
			for k, v := range fromApp {
				if _, set := b.Config[k]; !set {
					b.Config[k] = v
				}
			}
		}
		return b, nil
	}
	b, err := detect(ctx, l, dir)
	if err != nil {
		return Backend{}, err
	}
	for k, v := range fromApp {
		b.Config[k] = v
	}
	return b, nil
}

// appOptions applies the app config's build options (a TOML [build]'s env,
// build_args, platform, no_cache, managed_buildkit) where opts (the flags)
// leave them unset.
func appOptions(opts *Options, app *config.App) error {
	if opts.AppWarnings {
		w := opts.Warn
		if w == nil {
			w = os.Stderr
		}
		for _, d := range app.Warnings {
			fmt.Fprintf(w, "Warning: %s: %s\n", d.Subject, d.Detail)
		}
	}
	ab := app.Build
	if ab == nil {
		return nil
	}
	if len(ab.BuildArgs) > 0 {
		args, err := parseBuildArgs(ab.BuildArgs)
		if err != nil {
			return fmt.Errorf("%s: [build] env: %w", filepath.Base(app.Path), err)
		}
		for k, v := range opts.BuildArgs {
			args[k] = v
		}
		opts.BuildArgs = args
	}
	if opts.Platform == "" {
		opts.Platform = ab.Platform
	}
	opts.NoCache = opts.NoCache || ab.NoCache
	opts.ManagedBuildkit = opts.ManagedBuildkit || ab.ManagedBuildkit
	return nil
}
