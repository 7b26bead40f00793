package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/names"
)

// RunLabel marks the containers `rise run` starts (value "1"); another
// label, rise.project, names the project.
const RunLabel = "rise.run"

type runFlags struct {
	builder, project string
	port, expose     int
	env              []string
	withSecrets      bool
	build            buildFlags
}

func newRunCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [PATH]",
		Short: "Build the app locally and run it in the local container engine",
		Long: `Build the app directory (default ".") with the same builder selection as rise deploy
(--builder, else the app config, else auto-detection) into a local image, and run it
with the local Docker Engine (DOCKER_HOST, else the default socket) on 127.0.0.1. The
local URL is printed on stdout; the app's output follows on stderr. Ctrl-C stops and
removes the container.

The container gets PORT (the --http-port, default: the app config's port or 8080),
the app config's variables ([project.env] and [deploy.env] / deploy { env }) and -e
values, which win. rise has no stored variables or secrets yet, so --with-secrets
is refused.`,
		Example: `  rise run
  rise run ./app --http-port 3000 --expose 3000
  rise run -e DEBUG=1 --builder docker --build-arg BASE_IMAGE=busybox:1.37`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) > 0 {
				dir = args[0]
			}
			return runLocal(cmd, dir, f)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&f.project, "project", "p", "", "project name (default: the app config's, else the directory's name)")
	f.build.bindBuilder(fl)
	fl.IntVar(&f.port, "http-port", 0, "port the app listens on in the container (default: the app config's port or 8080)")
	fl.IntVar(&f.port, "port", 0, "same as --http-port")
	fl.IntVar(&f.expose, "expose", 0, "port on 127.0.0.1 of this machine (default: a free one)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment variable KEY=VALUE for the container (repeatable)")
	fl.StringArrayVar(&f.env, "run-env", nil, "same as --env (the reference rise's name)")
	fl.BoolVar(&f.withSecrets, "with-secrets", false, "also pass the project's secrets (not supported yet: rise has no stored secrets)")
	f.build.bind(fl)
	return c
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

func runLocal(cmd *cobra.Command, dir string, f runFlags) error {
	ctx, env := cmd.Context(), envOf(cmd)
	if f.withSecrets {
		return exitcode.Usagef("--with-secrets is not supported yet: rise has no stored variables or secrets; pass values with -e KEY=VALUE")
	}
	if f.port < 0 || f.port > 65535 || f.expose < 0 || f.expose > 65535 {
		return exitcode.Usagef("ports are 1 to 65535")
	}
	app, err := loadApp(cmd, dir)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("app directory: %w", err)
	}
	project := f.project
	if project == "" && app != nil {
		project = app.Project
	}
	if project == "" {
		// Only names the local image and container: any valid name will do.
		project = strings.Trim(nonName.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-")
		if names.ValidateProject(project) != nil {
			project = "local-app"
		}
	}
	if err := names.ValidateProject(project); err != nil {
		return exitcode.Usagef("invalid project %q: %v", project, err)
	}
	vars := map[string]string{}
	port := 8080
	var command []string
	if app != nil && app.Deploy != nil {
		maps.Copy(vars, app.Deploy.Env)
		if app.Deploy.Port != 0 {
			port = app.Deploy.Port
		}
		command = app.Deploy.Command
	}
	if f.port != 0 {
		port = f.port
	}
	vars["PORT"] = strconv.Itoa(port)
	for _, kv := range f.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return exitcode.Usagef("invalid --env %q: use KEY=VALUE", kv)
		}
		vars[k] = v
	}
	if builder == nil {
		return errors.New("this rise binary cannot build images (no builder is wired in)")
	}
	f.builder, _ = f.build.resolve()
	if f.builder == "" && app != nil && app.Build != nil {
		f.builder = app.Build.Builder
	}

	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer dc.Close()
	if _, err := dc.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach the local container engine at %s (rise run needs Docker, or Podman's Docker API via DOCKER_HOST): %w", dc.DaemonHost(), err)
	}

	p := env.Printer
	image := "rise-local-" + project + ":latest"
	var step interface{ Done() }
	req := clictx.BuildRequest{Dir: abs, Builder: f.builder, Image: image, Local: true,
		Building: func(method string) {
			step = p.Start(fmt.Sprintf("Building container image '%s' using %s...", image, method))
		}}
	f.build.apply(&req)
	_, err = builder(ctx, req)
	if step != nil {
		step.Done()
	}
	if ctx.Err() != nil {
		return exitcode.Wrap(exitcode.Interrupted, fmt.Errorf("build %s interrupted", image))
	}
	if err != nil {
		if exitcode.CodeOf(err) != exitcode.Error {
			return err
		}
		return exitcode.Wrap(exitcode.BuildFailed, fmt.Errorf("build %s: %w", image, err))
	}

	cport := nat.Port(strconv.Itoa(port) + "/tcp")
	hostPort := ""
	if f.expose != 0 {
		hostPort = strconv.Itoa(f.expose)
	}
	cfg := &container.Config{
		Image: image, Env: envList(vars), Cmd: command,
		ExposedPorts: nat.PortSet{cport: struct{}{}},
		Labels:       map[string]string{RunLabel: "1", "rise.project": project},
	}
	host := &container.HostConfig{PortBindings: nat.PortMap{cport: {{HostIP: "127.0.0.1", HostPort: hostPort}}}}
	name := "rise-run-" + project + "-" + randomSuffix()
	created, err := dc.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	id := created.ID
	defer func() {
		// Stop and remove even when ctx is done (Ctrl-C is how rise run ends).
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		secs := 5
		_ = dc.ContainerStop(cctx, id, container.StopOptions{Timeout: &secs})
		if err := dc.ContainerRemove(cctx, id, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			p.Warnf("could not remove container %s: %v", name, err)
		}
	}()
	if err := dc.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container: %w", err)
	}
	info, err := dc.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect container: %w", err)
	}
	var bound string
	if info.NetworkSettings != nil {
		for _, b := range info.NetworkSettings.Ports[cport] {
			if b.HostPort != "" {
				bound = b.HostPort
				break
			}
		}
	}
	if bound == "" {
		return fmt.Errorf("the container engine published no host port for %s", cport)
	}
	url := "http://127.0.0.1:" + bound
	if p.JSONMode() {
		if err := p.JSON(map[string]string{"url": url, "container": name, "image": image, "project": project}); err != nil {
			return err
		}
	} else {
		p.Println(url)
		p.Infof("Running '%s' at %s (container %s). Press Ctrl-C to stop.", project, url, name)
	}

	logCtx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	go func() {
		rc, err := dc.ContainerLogs(logCtx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(p.Err, p.Err, rc)
	}()
	waitc, errc := dc.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-ctx.Done():
		p.Infof("Stopping '%s'...", project)
		return nil
	case err := <-errc:
		if ctx.Err() != nil {
			p.Infof("Stopping '%s'...", project)
			return nil
		}
		return fmt.Errorf("wait for container: %w", err)
	case st := <-waitc:
		time.Sleep(200 * time.Millisecond) // let the last log lines through
		if st.StatusCode != 0 {
			return fmt.Errorf("the app exited with status %d", st.StatusCode)
		}
		p.Infof("The app exited.")
		return nil
	}
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
