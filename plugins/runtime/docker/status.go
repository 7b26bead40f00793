package docker

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/riseplatform/rise/sdk"
)

// Status observes the container: engine state first (exited, restarting,
// OOM-killed, crash loops are failures), then a health probe: HTTP GET of the
// workload's health path through the published port (2xx/3xx is healthy), or
// a TCP connect to the container when no health path is set.
func (r *Runtime) Status(ctx context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	var st state
	if err := d.DecodeState(&st); err != nil {
		return nil, err
	}
	info, err := r.cli.ContainerInspect(ctx, st.Container)
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("container %s: %w", st.Name, sdk.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", st.Name, err)
	}
	if s := r.engineStatus(ctx, info); s != nil {
		return s, nil
	}
	if err := r.probe(ctx, info, st); err != nil {
		return &sdk.Status{Health: sdk.HealthUnhealthy, Message: err.Error()}, nil
	}
	return &sdk.Status{Health: sdk.HealthHealthy, Message: "container running, health check passed"}, nil
}

// engineStatus maps the engine's container state; nil means "running, go probe".
func (r *Runtime) engineStatus(ctx context.Context, info container.InspectResponse) *sdk.Status {
	s := info.State
	if s == nil {
		return &sdk.Status{Health: sdk.HealthUnknown, Message: "engine reported no container state"}
	}
	crashed := func(what string) *sdk.Status {
		msg := fmt.Sprintf("container %s", what)
		if s.OOMKilled {
			msg += " (out of memory)"
		}
		if s.Error != "" {
			msg += ": " + s.Error
		}
		if tail := r.lastLines(ctx, info.ID, 5); tail != "" {
			msg += "; last output: " + tail
		}
		return &sdk.Status{Health: sdk.HealthFailed, Message: msg}
	}
	switch {
	case s.Status == "created":
		return &sdk.Status{Health: sdk.HealthPending, Message: "container created, not started"}
	case info.RestartCount >= r.MaxRestarts && (s.Restarting || !s.Running || s.ExitCode != 0):
		return crashed(fmt.Sprintf("keeps crashing: exited with code %d, restarted %d times", s.ExitCode, info.RestartCount))
	case s.Restarting:
		return &sdk.Status{Health: sdk.HealthUnhealthy, Message: fmt.Sprintf("container restarting after exit code %d (restart %d)", s.ExitCode, info.RestartCount)}
	case s.Status == "exited" || s.Status == "dead":
		if r.RestartPolicy == "always" || r.RestartPolicy == "unless-stopped" || (r.RestartPolicy == "on-failure" && s.ExitCode != 0) {
			// The engine will restart it (or the engine itself restarted).
			if info.RestartCount < r.MaxRestarts && !s.OOMKilled && s.Error == "" {
				return &sdk.Status{Health: sdk.HealthUnhealthy, Message: fmt.Sprintf("container exited with code %d, waiting for restart", s.ExitCode)}
			}
		}
		return crashed(fmt.Sprintf("exited with code %d", s.ExitCode))
	case s.Paused:
		return &sdk.Status{Health: sdk.HealthUnhealthy, Message: "container paused"}
	case !s.Running:
		return &sdk.Status{Health: sdk.HealthPending, Message: "container " + s.Status}
	}
	return nil
}

func (r *Runtime) probe(ctx context.Context, info container.InspectResponse, st state) error {
	if st.Health == "" {
		addr := r.containerAddr(info, st)
		var dialer net.Dialer
		cctx, cancel := context.WithTimeout(ctx, r.healthTimeout)
		defer cancel()
		c, err := dialer.DialContext(cctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("port %d not accepting connections: %w", st.Port, err)
		}
		return c.Close()
	}
	if st.HostPort == "" {
		return fmt.Errorf("port %d is not published", st.Port)
	}
	path := st.Health
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := "http://" + hostPort(r.BindAddress, st.HostPort) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", path, err)
	}
	req.Header.Set("User-Agent", "rise-health-check")
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("health check GET %s: %w", path, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("health check GET %s answered %d", path, resp.StatusCode)
	}
	return nil
}

// containerAddr prefers the container's own address: the engine's userland
// proxy accepts connections on the published port even when nothing listens.
func (r *Runtime) containerAddr(info container.InspectResponse, st state) string {
	port := fmt.Sprint(st.Port)
	if ns := info.NetworkSettings; ns != nil {
		for _, n := range ns.Networks {
			if n != nil && n.IPAddress != "" {
				return net.JoinHostPort(n.IPAddress, port)
			}
		}
	}
	return hostPort(r.BindAddress, st.HostPort)
}
