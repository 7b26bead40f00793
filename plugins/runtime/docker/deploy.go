package docker

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/go-connections/nat"

	"github.com/riseplatform/rise/sdk"
)

// Deploy creates and starts the deployment's container. It is idempotent per
// deployment id: an existing container of that name is reused (and started if
// it never was), so a retry after a crash never makes a second container.
func (r *Runtime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	if req.DeploymentID == "" || req.Project == "" {
		return nil, sdk.Permanent(fmt.Errorf("deploy: project and deployment id are required"))
	}
	port := req.Workload.Port
	if port == 0 {
		port = 8080
	}
	name := ContainerName(req.Project, req.DeploymentID)
	ref := req.Artifact.Ref()
	if ref == "" {
		return nil, sdk.Permanent(fmt.Errorf("deploy %s: no image", name))
	}

	info, err := r.ensure(ctx, req, name, ref, port, ui)
	if err != nil {
		return nil, err
	}
	if info.State != nil && info.State.Status == "created" {
		if ui != nil {
			ui.Logf("Starting container %s", name)
		}
		if err := r.cli.ContainerStart(ctx, info.ID, container.StartOptions{}); err != nil {
			return nil, fmt.Errorf("start container %s: %w", name, err)
		}
		if info, err = r.cli.ContainerInspect(ctx, info.ID); err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", name, err)
		}
	}
	return r.handle(req.Project, req.DeploymentID, info, port, req.Workload.HealthPath)
}

// ensure returns the deployment's container, creating it when missing. A
// name conflict means another (possibly cancelled) Deploy of the same id is
// creating it right now: look again shortly.
func (r *Runtime) ensure(ctx context.Context, req *sdk.DeployRequest, name, ref string, port uint32, ui sdk.UI) (container.InspectResponse, error) {
	for attempt := 0; ; attempt++ {
		info, err := r.cli.ContainerInspect(ctx, name)
		if err == nil {
			return info, nil
		}
		if !cerrdefs.IsNotFound(err) {
			return info, fmt.Errorf("inspect container %s: %w", name, err)
		}
		if err := r.pull(ctx, ref, req.PullCredentials, ui); err != nil {
			return info, err
		}
		err = r.create(ctx, req, name, ref, port)
		if err == nil {
			continue // inspect what we made
		}
		if !cerrdefs.IsConflict(err) || attempt >= 20 {
			return info, err
		}
		select {
		case <-ctx.Done():
			return info, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// handle builds the sdk.Deployment for an inspected container.
func (r *Runtime) handle(project, id string, info container.InspectResponse, port uint32, health string) (*sdk.Deployment, error) {
	st := state{Container: info.ID, Name: ContainerName(project, id), Port: port, Health: health}
	if info.NetworkSettings != nil {
		for _, b := range info.NetworkSettings.Ports[nat.Port(strconv.Itoa(int(port))+"/tcp")] {
			if b.HostPort != "" {
				st.HostPort = b.HostPort
				break
			}
		}
	}
	d, err := sdk.NewDeployment(id, st)
	if err != nil {
		return nil, err
	}
	d.Project = project
	if st.HostPort != "" {
		d.Upstreams = []string{"http://" + hostPort(r.BindAddress, st.HostPort)}
	}
	return d, nil
}

func (r *Runtime) create(ctx context.Context, req *sdk.DeployRequest, name, ref string, port uint32) error {
	mem, err := memoryBytes(req.Workload.Resources.Memory)
	if err != nil {
		return sdk.Permanent(err)
	}
	if mem == 0 {
		mem = r.defaultMemory
	}
	cpus, err := nanoCPUs(req.Workload.Resources.CPU)
	if err != nil {
		return sdk.Permanent(err)
	}
	group := req.Group
	if group == "" {
		group = "default"
	}
	cport := nat.Port(strconv.Itoa(int(port)) + "/tcp")
	cfg := &container.Config{
		Image:        ref,
		Env:          envList(req.Workload.Env, req.Workload.SecretEnv, port),
		ExposedPorts: nat.PortSet{cport: struct{}{}},
		Labels: map[string]string{
			LabelProject:    req.Project,
			LabelDeployment: req.DeploymentID,
			LabelGroup:      group,
		},
	}
	if len(req.Workload.Command) > 0 {
		cfg.Cmd = req.Workload.Command
	}
	netName := NetworkName(req.Project)
	if _, err := r.ensureNetwork(ctx, req.Project); err != nil {
		return err
	}
	pids := r.PidsLimit
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(netName),
		PortBindings:  nat.PortMap{cport: {{HostIP: r.BindAddress, HostPort: ""}}},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(r.RestartPolicy)},
		Resources:     container.Resources{Memory: mem, NanoCPUs: cpus, PidsLimit: &pids},
		SecurityOpt:   []string{"no-new-privileges"},
		CapDrop:       []string{"ALL"},
		CapAdd:        r.CapAdd,
	}
	_, err = r.cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsConflict(err):
		return err // a concurrent Deploy of the same id; the caller looks again
	case cerrdefs.IsNotFound(err):
		return sdk.Permanent(fmt.Errorf("image %s not found: %w", ref, err))
	}
	return fmt.Errorf("create container %s: %w", name, err)
}

// pull fetches ref unless it is present locally and no credentials were
// given (local images, engine-side caches). With credentials it always
// pulls, so the registry authorises this project for the image even when
// the engine has it cached (another project's image included). Credentials
// go only to their own registry: an image from elsewhere is pulled
// anonymously.
func (r *Runtime) pull(ctx context.Context, ref string, creds *sdk.Credentials, ui sdk.UI) error {
	if creds != nil && !credsFor(creds, ref) {
		creds = nil
	}
	if creds == nil {
		_, err := r.cli.ImageInspect(ctx, ref)
		switch {
		case err == nil:
			return nil
		case !cerrdefs.IsNotFound(err):
			// Not "missing": the engine is struggling; do not turn that
			// into a (permanent) pull failure.
			return fmt.Errorf("inspect image %s: %w", ref, err)
		}
	}
	opts := image.PullOptions{}
	if creds != nil {
		auth, err := registry.EncodeAuthConfig(registry.AuthConfig{
			Username: creds.Username, Password: creds.Password, ServerAddress: creds.Registry,
		})
		if err != nil {
			return fmt.Errorf("encode registry credentials: %w", err)
		}
		opts.RegistryAuth = auth
	}
	var step sdk.Step
	if ui != nil {
		step = ui.Step("Pulling " + ref)
	}
	rc, err := r.cli.ImagePull(ctx, ref, opts)
	if err == nil {
		err = pullResult(rc)
	}
	if err != nil {
		err = fmt.Errorf("pull %s: %w", ref, err)
		if cerrdefs.IsNotFound(err) {
			err = sdk.Permanent(err)
		}
		if step != nil {
			return step.Fail(err)
		}
		return err
	}
	if step != nil {
		step.Done()
	}
	return nil
}

func envList(env, secret map[string]string, port uint32) []string {
	out := make([]string, 0, len(env)+len(secret)+1)
	if _, ok := env["PORT"]; !ok {
		out = append(out, "PORT="+strconv.Itoa(int(port)))
	}
	for _, m := range []map[string]string{env, secret} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, k+"="+m[k])
		}
	}
	return out
}

// Stop stops and removes the deployment's container. A missing container
// is already stopped.
func (r *Runtime) Stop(ctx context.Context, d *sdk.Deployment, ui sdk.UI) error {
	if err := r.ready(); err != nil {
		return err
	}
	target := ContainerName(d.Project, d.ID)
	var st state
	if d.DecodeState(&st) == nil && st.Container != "" {
		target = st.Container
	} else if d.Project == "" {
		return sdk.Permanent(fmt.Errorf("stop %s: deployment has neither state nor project", d.ID))
	}
	return r.remove(ctx, target)
}

func (r *Runtime) remove(ctx context.Context, target string) error {
	secs := int(r.stopTimeout.Seconds())
	err := r.cli.ContainerStop(ctx, target, container.StopOptions{Timeout: &secs})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s: %w", target, err)
	}
	err = r.cli.ContainerRemove(ctx, target, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		return fmt.Errorf("remove container %s: %w", target, err)
	}
	return nil
}

// credsFor reports whether creds are for ref's registry.
func credsFor(creds *sdk.Credentials, ref string) bool {
	reg := creds.Registry
	if reg == "" {
		reg, _, _ = strings.Cut(creds.Repository, "/")
	}
	host, _, ok := strings.Cut(ref, "/")
	return ok && reg != "" && strings.EqualFold(host, reg)
}

// Destroy removes every container of project, then its network.
func (r *Runtime) Destroy(ctx context.Context, project string, ui sdk.UI) error {
	if err := r.ready(); err != nil {
		return err
	}
	list, err := r.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project)),
	})
	if err != nil {
		return fmt.Errorf("list containers of %s: %w", project, err)
	}
	for _, c := range list {
		if err := r.remove(ctx, c.ID); err != nil {
			return err
		}
	}
	return r.removeNetwork(ctx, project)
}

// pullResult drains a pull's JSON progress stream and returns its error.
func pullResult(rc io.ReadCloser) error {
	defer rc.Close()
	return decodeJSONMessages(rc)
}
