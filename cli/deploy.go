package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
)

// builder builds and pushes images for `rise deploy`; SetBuilder installs it.
var builder clictx.BuildFunc

// SetBuilder installs the build orchestration used by `rise deploy` when no
// --image is given (cmd/rise wires cli/build here).
func SetBuilder(f clictx.BuildFunc) { builder = f }

type deployFlags struct {
	image, group, dir, builder, expire string
	port                               int
	env                                []string
	detach                             bool
	timeout                            time.Duration
}

func newDeployCmd() *cobra.Command {
	c := newDeploymentCreateCmd()
	c.Use = "deploy [PROJECT]"
	c.Aliases = nil
	c.Short = "Build, push and deploy the app in the current directory (= deployment create)"
	c.Example = `  rise deploy
  rise deploy secret-app --path ./app
  rise deploy secret-app --image 127.0.0.1:5000/rise/secret-app:v1 --detach`
	return c
}

func newDeploymentCreateCmd() *cobra.Command {
	var f deployFlags
	c := &cobra.Command{
		Use:     "create [PROJECT]",
		Aliases: []string{"c", "new"},
		Short:   "Build, push and deploy a project",
		Long: `Create a deployment: build the app directory into a container image, push it with
short-lived credentials from the server, and follow the rollout until it is healthy.
With --image a pre-built image is deployed (pinned to its digest), without a build.
PROJECT defaults to the project in ./rise.hcl or ./.rise.toml.`,
		Example: `  rise deployment create secret-app
  rise d c secret-app --builder pack
  rise d c secret-app --image 127.0.0.1:5000/rise/secret-app:v1`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := loadApp(f.dir)
			if err != nil {
				return err
			}
			project := ""
			if len(args) > 0 {
				project = args[0]
			} else if project, err = projectIn(f.dir); err != nil {
				return err
			}
			return runDeploy(cmd.Context(), envOf(cmd), project, app, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.image, "image", "", "deploy this pre-built image instead of building")
	fl.StringVar(&f.dir, "path", ".", "app directory to build")
	fl.StringVar(&f.builder, "builder", "", "builder plugin: docker, pack, railpack (default: rise.hcl or auto-detect)")
	fl.StringVar(&f.group, "group", "", "deployment group (default \"default\")")
	fl.IntVar(&f.port, "port", 0, "container port the app listens on (default: rise.hcl or 8080)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment variable KEY=VALUE (repeatable)")
	fl.StringVar(&f.expire, "expire", "", "stop the deployment this long after it is healthy (e.g. 2h)")
	fl.BoolVar(&f.detach, "detach", false, "do not wait for the rollout")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "how long to wait for the rollout")
	return c
}

// request builds the deployment request from rise.hcl's deploy block (app
// may be nil) overridden by flags.
func (f deployFlags) request(app *config.App) (*api.CreateDeploymentRequest, error) {
	req := &api.CreateDeploymentRequest{Image: f.image, Group: f.group, Expire: f.expire}
	if f.expire != "" {
		if _, err := time.ParseDuration(f.expire); err != nil {
			return nil, exitcode.Usagef("invalid --expire %q: use a duration like 2h", f.expire)
		}
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
	if f.port != 0 || len(f.env) > 0 {
		if w == nil {
			w = &api.Workload{}
		}
		if f.port != 0 {
			w.Port = f.port
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
	return req, nil
}

func runDeploy(ctx context.Context, env *clictx.Env, project string, app *config.App, f deployFlags) error {
	req, err := f.request(app)
	if err != nil {
		return err
	}
	if f.builder == "" && app != nil && app.Build != nil {
		f.builder = app.Build.Builder
	}
	if f.image == "" && builder == nil {
		return errors.New("this rise binary cannot build images (no builder is wired in); deploy a pre-built image with --image")
	}
	if f.image == "" {
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
	if f.image == "" {
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
	res, err := builder(ctx, clictx.BuildRequest{
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
	})
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
