package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/names"
)

// builder builds and pushes images for `rise deploy`; SetBuilder installs it.
var builder clictx.BuildFunc

// SetBuilder installs the build orchestration used by `rise deploy` when no
// --image is given (cmd/rise wires cli/build here).
func SetBuilder(f clictx.BuildFunc) { builder = f }

type deployFlags struct {
	image, group, dir, builder, expire string
	environment, from, jobURL, prURL   string
	useSourceEnv                       bool
	port                               int
	env                                []string
	envFiles, secretEnv                []string
	stdin                              *clictx.Env // reads --secret-env K=- values
	detach                             bool
	timeout                            time.Duration
	build                              buildFlags
}

// buildFlags are the build options `rise deploy` and `rise run` share
// with `rise build`; they override the app config's [build] options.
type buildFlags struct {
	dockerfile, platform string
	buildArgs            []string
	noCache              bool
	backend, builder     string // --backend and --builder as given (see resolve)
}

// bindBuilder adds --builder and --backend (see resolve).
func (b *buildFlags) bindBuilder(fl *pflag.FlagSet) {
	fl.StringVar(&b.builder, "builder", "", "builder: docker, docker:buildx, podman, pack, railpack, railpack:buildctl or a builder plugin (default: the app config or auto-detect); an image with '/' is a buildpacks builder image as in the reference rise")
	fl.StringVar(&b.backend, "backend", "", "same as --builder (the reference rise's name); with it, --builder is the buildpacks builder image")
}

// resolve returns the builder plugin selection and the buildpacks builder
// image. The reference rise spells the plugin --backend and the pack
// builder image --builder; this CLI's --builder is the plugin. So: with
// --backend, --builder is the image; alone, a --builder with '/' (an image
// reference, never a backend name) is the image too.
func (b buildFlags) resolve() (backend, image string) {
	switch {
	case b.backend != "":
		return b.backend, b.builder
	case strings.Contains(b.builder, "/"):
		return "", b.builder
	default:
		return b.builder, ""
	}
}

func (b *buildFlags) bind(fl *pflag.FlagSet) {
	fl.StringVar(&b.dockerfile, "dockerfile", "", "Dockerfile to use, relative to the app directory (docker builder)")
	fl.StringArrayVar(&b.buildArgs, "build-arg", nil, "build argument KEY=VALUE, or KEY to take it from the environment (repeatable)")
	fl.StringVar(&b.platform, "platform", "", "target platform, e.g. linux/amd64")
	fl.BoolVar(&b.noCache, "no-cache", false, "do not use the build cache")
}

// apply puts the flags into a build request.
func (b buildFlags) apply(req *clictx.BuildRequest) {
	req.Dockerfile, req.Platform, req.NoCache = b.dockerfile, b.platform, b.noCache
	req.BuildArgs = b.buildArgs
	_, req.BuilderImage = b.resolve()
}

func newDeployCmd() *cobra.Command {
	c := newDeploymentCreateCmd()
	c.Use = "deploy [PROJECT | PATH]"
	c.Aliases = nil
	c.Short = "Build, push and deploy the app in the current directory (= deployment create)"
	c.Example = `  rise deploy
  rise deploy secret-app --path ./app
  rise deploy ./app -p secret-app --expire 7d --group mr/42 -E staging
  rise deploy secret-app --from staging -E production
  rise deploy secret-app -i 127.0.0.1:5000/rise/secret-app:v1 --http-port 80 --detach`
	return c
}

func newDeploymentCreateCmd() *cobra.Command {
	var f deployFlags
	c := &cobra.Command{
		Use:     "create [PROJECT | PATH]",
		Aliases: []string{"c", "new"},
		Short:   "Build, push and deploy a project",
		Long: `Create a deployment: build the app directory into a container image, push it with
short-lived credentials from the server, and follow the rollout until it is healthy.
With --image a pre-built image is deployed (pinned to its digest), without a build.
PROJECT defaults to -p/--project, else the project in the app directory's rise.hcl,
rise.toml or .rise.toml. An argument containing '/' or '.' is the app directory
(PATH, as the reference rise's "rise deploy ./app"), like --path.`,
		Example: `  rise deployment create secret-app
  rise d c secret-app --builder pack
  rise d c secret-app --image 127.0.0.1:5000/rise/secret-app:v1`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && isPathArg(args[0]) {
				if cmd.Flags().Changed("path") && f.dir != args[0] {
					return exitcode.Usagef("app directory given twice: %q as an argument and %q with --path; pass one", args[0], f.dir)
				}
				f.dir, args = args[0], nil
			}
			app, err := loadApp(cmd, f.dir)
			if err != nil {
				return err
			}
			project := projectFlag(cmd)
			switch {
			case len(args) > 0 && project != "" && args[0] != project:
				return exitcode.Usagef("project given twice: %q as an argument and %q with --project; pass one", args[0], project)
			case len(args) > 0:
				project = args[0]
			case project == "":
				if project, err = projectOf(app); err != nil {
					return err
				}
			}
			return runDeploy(cmd.Context(), envOf(cmd), project, app, f)
		},
	}
	addProjectFlag(c)
	fl := c.Flags()
	fl.StringVarP(&f.image, "image", "i", "", "deploy this pre-built image instead of building")
	fl.StringVar(&f.dir, "path", ".", "app directory to build")
	f.build.bindBuilder(fl)
	fl.StringVar(&f.group, "group", "", "deployment group, e.g. mr/27 (default \"default\"; in a GitLab merge request pipeline mr/<iid>)")
	fl.StringVarP(&f.environment, "environment", "E", "", "environment to deploy to (default production)")
	fl.StringVar(&f.from, "from", "", "promote: deploy the image of this deployment id or ENV[:GROUP]'s active deployment, without a build")
	fl.BoolVar(&f.useSourceEnv, "use-source-env", false, "with --from: take the source deployment's variables instead of this app's")
	fl.StringVar(&f.jobURL, "job-url", "", "CI job that deploys (default: detected from GitHub Actions or GitLab CI)")
	fl.StringVar(&f.prURL, "pull-request-url", "", "pull or merge request the deployment is for (default: detected)")
	fl.IntVar(&f.port, "port", 0, "container port the app listens on (default: the app config or 8080)")
	fl.IntVar(&f.port, "http-port", 0, "same as --port (the reference rise's name)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment variable KEY=VALUE (repeatable)")
	fl.StringArrayVar(&f.envFiles, "env-file", nil, "dotenv file of environment variables; K=secret:V values are secret (repeatable)")
	fl.StringArrayVar(&f.secretEnv, "secret-env", nil, "secret environment variable KEY=VALUE for this deployment, stored encrypted; VALUE '-' reads standard input (repeatable)")
	fl.StringVar(&f.expire, "expire", "", "stop the deployment this long after it is healthy (e.g. 30m, 2h, 7d, 1w; merge request previews: RISE_PREVIEW_EXPIRE or 7d)")
	fl.BoolVar(&f.detach, "detach", false, "do not wait for the rollout")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "how long to wait for the rollout")
	f.build.bind(fl)
	return c
}

// isPathArg says whether a positional argument is an app directory rather
// than a project name: project names never contain '/' or '.'.
func isPathArg(s string) bool { return strings.ContainsAny(s, "/.") || s == "~" }

// request builds the deployment request from rise.hcl's deploy block (app
// may be nil) overridden by flags, with the CI system's metadata.
func (f deployFlags) request(app *config.App) (*api.CreateDeploymentRequest, error) {
	return f.requestIn(app, detectCI(os.Getenv), os.Getenv)
}

// requestIn is request for the CI system ci, reading RISE_PREVIEW_EXPIRE
// with getenv.
func (f deployFlags) requestIn(app *config.App, ci ciInfo, getenv func(string) string) (*api.CreateDeploymentRequest, error) {
	if f.from != "" && f.image != "" {
		return nil, exitcode.Usagef("pass --from (promote a deployment) or --image, not both")
	}
	if f.useSourceEnv && f.from == "" {
		return nil, exitcode.Usagef("--use-source-env needs --from")
	}
	req := &api.CreateDeploymentRequest{Image: f.image, Group: f.group, Environment: f.environment, From: f.from,
		UseSourceEnv: f.useSourceEnv, JobURL: orDefault(f.jobURL, ci.JobURL), PullRequestURL: orDefault(f.prURL, ci.PullRequestURL)}
	expire := f.expire
	if req.Group == "" && (app == nil || app.Deploy == nil || app.Deploy.Group == "") && ci.Group != "" && f.from == "" {
		// A merge request pipeline: a preview of its own, which expires.
		req.Group = ci.Group
		if expire == "" {
			expire = orDefault(getenv("RISE_PREVIEW_EXPIRE"), defaultPreviewExpire)
		}
	}
	if expire != "" {
		d, err := parseDuration(expire)
		if err != nil {
			return nil, exitcode.Usagef("invalid --expire %q: %v", expire, err)
		}
		req.Expire = d.String()
	}
	var w *api.Workload
	if app != nil && app.Deploy != nil {
		d := app.Deploy
		w = &api.Workload{Port: d.Port, Replicas: d.Replicas, Env: maps.Clone(d.Env), HealthPath: d.HealthPath,
			CPU: d.CPU, Memory: d.Memory, Command: d.Command}
		if req.Group == "" {
			req.Group = d.Group
		}
	}
	secret := map[string]string{}
	var fileEnv []api.VariableInput
	for _, path := range f.envFiles {
		vars, err := readDotenv(path, f.stdinReader())
		if err != nil {
			return nil, err
		}
		fileEnv = append(fileEnv, vars...)
	}
	stdinUsed := false
	for _, kv := range f.secretEnv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, exitcode.Usagef("invalid --secret-env %q: use KEY=VALUE (or KEY=- to read standard input)", k)
		}
		if v == "-" {
			if stdinUsed || f.stdin == nil {
				return nil, exitcode.Usagef("--secret-env %s=-: only one value can be read from standard input", k)
			}
			stdinUsed = true
			var err error
			if v, err = readStdinValue(f.stdin, k); err != nil {
				return nil, err
			}
		}
		if err := names.ValidateVariable(k, v); err != nil {
			return nil, exitcode.Usagef("--secret-env: %v", err)
		}
		secret[k] = v
	}
	if f.port != 0 || len(f.env) > 0 || len(fileEnv) > 0 {
		if w == nil {
			w = &api.Workload{}
		}
		if f.port != 0 {
			w.Port = f.port
		}
		for _, in := range fileEnv {
			if in.Kind != api.KindPlain {
				secret[in.Name] = in.Value
				continue
			}
			if w.Env == nil {
				w.Env = map[string]string{}
			}
			w.Env[in.Name] = in.Value
		}
		for _, kv := range f.env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, exitcode.Usagef("invalid --env %q: use KEY=VALUE", kv)
			}
			if w.Env == nil {
				w.Env = map[string]string{}
			}
			w.Env[k] = v
		}
	}
	req.Workload = w
	if len(secret) > 0 {
		req.SecretEnv = secret
		if w != nil {
			for k := range secret {
				delete(w.Env, k) // a name is secret or plain, never both
			}
		}
	}
	return req, nil
}

func (f deployFlags) stdinReader() io.Reader {
	if f.stdin == nil {
		return nil
	}
	return f.stdin.Stdin
}

func runDeploy(ctx context.Context, env *clictx.Env, project string, app *config.App, f deployFlags) error {
	f.builder, _ = f.build.resolve()
	f.stdin = env
	req, err := f.request(app)
	if err != nil {
		return err
	}
	if f.builder == "" && app != nil && app.Build != nil {
		f.builder = app.Build.Builder
	}
	if f.image == "" && f.from == "" && builder == nil {
		return errors.New("this rise binary cannot build images (no builder is wired in); deploy a pre-built image with --image")
	}
	if f.image == "" && f.from == "" {
		if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
			return exitcode.Usagef("--path %q is not a directory", f.dir)
		}
	}
	c, err := env.Client()
	if err != nil {
		return err
	}
	d, err := c.CreateDeployment(ctx, project, req)
	if err != nil {
		return err
	}
	if f.from != "" {
		env.Printer.Infof("Promoting %s of '%s' (image %s) without a build.", d.PromotedFrom, d.Project, d.ImageDigest)
	} else if f.image == "" {
		if d, err = buildAndPush(ctx, env, c, d, f); err != nil {
			return err
		}
	}
	return finishDeploy(ctx, env, c, d, f.detach, f.timeout)
}

// finishDeploy follows d (unless detached) and prints the outcome.
func finishDeploy(ctx context.Context, env *clictx.Env, c *api.Client, d *api.Deployment, detach bool, timeout time.Duration) error {
	p := env.Printer
	if detach {
		if p.JSONMode() {
			return p.JSON(d)
		}
		p.Infof("Deployment %s of '%s' created (%s). Follow it with `rise deployment show %s %s --follow`.", d.ID, d.Project, d.State, d.Project, d.ID)
		return nil
	}
	d, err := followDeployment(ctx, env, c, d, timeout)
	if err != nil {
		return err // with -o json the error document is the one output
	}
	if p.JSONMode() {
		return p.JSON(d)
	}
	p.Successf("Deployment successful! Your app is now running at %s", d.URL)
	return nil
}

// buildAndPush drives Building → Pushing → Pushed for a new deployment.
func buildAndPush(ctx context.Context, env *clictx.Env, c *api.Client, d *api.Deployment, f deployFlags) (*api.Deployment, error) {
	fail := func(code int, err error) (*api.Deployment, error) {
		state, msg := api.StateFailed, err.Error()
		if ctx.Err() != nil {
			state, msg, code = api.StateCancelling, "interrupted", exitcode.Interrupted
		}
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, uerr := c.UpdateDeploymentState(rctx, d.Project, d.ID, &api.UpdateDeploymentStateRequest{State: state, Message: msg}); uerr != nil {
			env.Printer.Warnf("could not mark deployment %s %s: %v", d.ID, state, uerr)
		}
		if exitcode.CodeOf(err) != exitcode.Error {
			return d, err
		}
		return d, exitcode.Wrap(code, err)
	}
	if _, err := c.UpdateDeploymentState(ctx, d.Project, d.ID, &api.UpdateDeploymentStateRequest{State: api.StateBuilding}); err != nil {
		return d, fmt.Errorf("start build of deployment %s: %w", d.ID, err)
	}
	creds, err := c.RegistryCredentials(ctx, d.Project, d.ID)
	if err != nil {
		return fail(exitcode.PushFailed, fmt.Errorf("get registry credentials: %w", err))
	}
	image := creds.Repository + ":" + d.ID
	p := env.Printer
	var buildStep, pushStep interface{ Done() }
	pushing := false
	breq := clictx.BuildRequest{
		Dir: f.dir, Builder: f.builder, Image: image, Credentials: creds,
		Building: func(method string) {
			buildStep = p.Start(fmt.Sprintf("Building container image '%s' using %s...", image, method))
		},
		Pushing: func() {
			if buildStep != nil {
				buildStep.Done()
			}
			pushing = true
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if _, err := c.UpdateDeploymentState(rctx, d.Project, d.ID, &api.UpdateDeploymentStateRequest{State: api.StatePushing}); err != nil {
				p.Warnf("could not mark deployment %s Pushing: %v", d.ID, err)
			}
			pushStep = p.Start(fmt.Sprintf("Pushing container image to %s...", creds.Registry))
		},
	}
	f.build.apply(&breq)
	res, err := builder(ctx, breq)
	for _, s := range []interface{ Done() }{buildStep, pushStep} {
		if s != nil {
			s.Done()
		}
	}
	if err != nil {
		if pushing {
			return fail(exitcode.PushFailed, fmt.Errorf("push %s: %w", image, err))
		}
		return fail(exitcode.BuildFailed, fmt.Errorf("build %s: %w", image, err))
	}
	next, err := c.UpdateDeploymentState(ctx, d.Project, d.ID, &api.UpdateDeploymentStateRequest{
		State: api.StatePushed, Image: orDefault(res.Image, image), ImageDigest: res.Digest,
	})
	if err != nil {
		return d, fmt.Errorf("hand deployment %s to the server: %w", d.ID, err)
	}
	return next, nil
}
