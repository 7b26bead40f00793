// Package docker is rise's Docker runtime: one container per deployment on a
// Docker Engine (or Podman's Docker-compatible API), on its project's own
// bridge network, published on a loopback port that rise's edge router
// proxies <project>.<domain> to.
package docker

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/riseplatform/rise/sdk"
)

// Labels put on every container rise creates.
const (
	LabelProject    = "rise.project"
	LabelDeployment = "rise.deployment"
	LabelGroup      = "rise.group"
)

// Component returns the runtime component "docker".
func Component() sdk.Component {
	return sdk.Component{
		Name:        "docker",
		Description: "Runs each deployment as a container on a Docker Engine (or Podman) published on a loopback port",
		New:         func() any { return &Runtime{} },
	}
}

// Runtime is the Docker runtime. Its exported fields are its HCL config.
type Runtime struct {
	// Host is the engine address (unix:///var/run/docker.sock,
	// tcp://...); empty = DOCKER_HOST or the default socket.
	Host string `hcl:"host,optional"`
	// BindAddress is the host address ports are published on (default 127.0.0.1).
	BindAddress string `hcl:"bind_address,optional"`
	// RestartPolicy is Docker's restart policy name (default "unless-stopped").
	RestartPolicy string `hcl:"restart_policy,optional"`
	// MaxRestarts: a container restarted this many times is reported as
	// failed (crash loop). Default 3.
	MaxRestarts int `hcl:"max_restarts,optional"`
	// HealthTimeout bounds one health probe (default "2s").
	HealthTimeout string `hcl:"health_timeout,optional"`
	// StopTimeout is how long a container gets to exit on SIGTERM (default "10s").
	StopTimeout string `hcl:"stop_timeout,optional"`

	// Firewall: "iptables" (default) installs host rules that keep
	// containers off the host's own services and the deny_cidrs ranges
	// (firewall.go); it needs the engine on this machine and root. "none"
	// leaves the host firewall alone (then apply equivalent rules yourself).
	Firewall string `hcl:"firewall,optional"`
	// DenyCIDRs are destinations containers may not reach (default
	// ["169.254.0.0/16"]: link-local, cloud metadata services).
	DenyCIDRs []string `hcl:"deny_cidrs,optional"`
	// Memory is the memory limit of containers whose workload sets none
	// (default "512Mi"; "0" for none).
	Memory string `hcl:"memory,optional"`
	// PidsLimit caps processes and threads per container (default 512; -1
	// for no limit).
	PidsLimit int64 `hcl:"pids_limit,optional"`
	// CapAdd lists the capabilities containers keep; all others are
	// dropped (default: what an ordinary web server needs, defaultCaps).
	CapAdd []string `hcl:"cap_add,optional"`

	cli           *client.Client
	defaultMemory int64
	http          *http.Client
	healthTimeout time.Duration
	stopTimeout   time.Duration
}

var (
	_ sdk.Runtime     = (*Runtime)(nil)
	_ sdk.LogStreamer = (*Runtime)(nil)
	_ sdk.Destroyer   = (*Runtime)(nil)
	_ sdk.Provisioner = (*Runtime)(nil)
	_ sdk.Validator   = (*Runtime)(nil)
)

// Validate checks the configuration.
func (r *Runtime) Validate() error {
	for name, v := range map[string]string{"health_timeout": r.HealthTimeout, "stop_timeout": r.StopTimeout} {
		if v == "" {
			continue
		}
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			return sdk.AttrError(name, fmt.Errorf("%s: %q is not a positive duration like \"5s\"", name, v))
		}
	}
	switch r.RestartPolicy {
	case "", "no", "always", "unless-stopped", "on-failure":
	default:
		return sdk.AttrError("restart_policy", fmt.Errorf("restart_policy: %q is not one of no, always, unless-stopped, on-failure", r.RestartPolicy))
	}
	if r.MaxRestarts < 0 {
		return sdk.AttrError("max_restarts", fmt.Errorf("max_restarts must not be negative"))
	}
	switch r.Firewall {
	case "", "iptables", "none":
	default:
		return sdk.AttrError("firewall", fmt.Errorf("firewall: %q is not one of iptables, none", r.Firewall))
	}
	if _, err := validCIDRs(r.DenyCIDRs); err != nil {
		return sdk.AttrError("deny_cidrs", err)
	}
	if r.Memory != "" && r.Memory != "0" {
		if _, err := memoryBytes(r.Memory); err != nil {
			return sdk.AttrError("memory", fmt.Errorf("memory: %w", err))
		}
	}
	if r.PidsLimit < -1 {
		return sdk.AttrError("pids_limit", fmt.Errorf("pids_limit: %d is neither a positive limit nor -1 (no limit)", r.PidsLimit))
	}
	if _, err := capabilities(r.CapAdd); err != nil {
		return sdk.AttrError("cap_add", err)
	}
	return nil
}

// Provision applies defaults and connects the Docker client (API version
// negotiated with the engine).
func (r *Runtime) Provision(ctx context.Context) error {
	if r.BindAddress == "" {
		r.BindAddress = "127.0.0.1"
	}
	if r.RestartPolicy == "" {
		r.RestartPolicy = "unless-stopped"
	}
	if r.MaxRestarts == 0 {
		r.MaxRestarts = 3
	}
	if r.Firewall == "" {
		r.Firewall = "iptables"
	}
	if r.DenyCIDRs == nil {
		r.DenyCIDRs = []string{"169.254.0.0/16"}
	}
	r.DenyCIDRs, _ = validCIDRs(r.DenyCIDRs)
	if r.Memory == "" {
		r.Memory = "512Mi"
	}
	if r.Memory != "0" {
		r.defaultMemory, _ = memoryBytes(r.Memory)
	}
	if r.PidsLimit == 0 {
		r.PidsLimit = 512
	}
	r.CapAdd, _ = capabilities(r.CapAdd)
	r.healthTimeout = parseDur(r.HealthTimeout, 2*time.Second)
	r.stopTimeout = parseDur(r.StopTimeout, 10*time.Second)
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if r.Host != "" {
		opts = append(opts, client.WithHost(r.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return fmt.Errorf("cannot reach the Docker Engine at %s: %w", cli.DaemonHost(), err)
	}
	if r.Firewall == "iptables" {
		if !strings.HasPrefix(cli.DaemonHost(), "unix://") {
			cli.Close()
			return fmt.Errorf("firewall = \"iptables\" needs the engine on this machine, not %s: "+
				"set firewall = \"none\" and install the rules on the engine's host (docs/deployments.md)", cli.DaemonHost())
		}
		if err := r.applyFirewall(ctx); err != nil {
			cli.Close()
			return fmt.Errorf("install host firewall rules (or set firewall = \"none\"): %w", err)
		}
	}
	r.cli = cli
	r.http = &http.Client{
		Timeout:       r.healthTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{DisableKeepAlives: true},
	}
	return nil
}

// Close releases the Docker client.
func (r *Runtime) Close() error {
	if r.cli == nil {
		return nil
	}
	return r.cli.Close()
}

func (r *Runtime) ready() error {
	if r.cli == nil {
		return fmt.Errorf("docker runtime used before Provision")
	}
	return nil
}

func parseDur(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return def
}

// ContainerName is the container of a deployment: rise-<project>-<id>.
func ContainerName(project, id string) string { return "rise-" + project + "-" + id }

// state is what the runtime keeps in sdk.Deployment.State.
type state struct {
	Container string `json:"container"` // id
	Name      string `json:"name"`
	HostPort  string `json:"host_port"`
	Port      uint32 `json:"port"`
	Health    string `json:"health_path,omitempty"`
}
