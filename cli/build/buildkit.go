package build

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Managed BuildKit: behind TLS-intercepting proxies BuildKit needs the
// corporate CA at daemon start. With --managed-buildkit (or
// RISE_MANAGED_BUILDKIT=true) and SSL_CERT_FILE set, rise runs its own
// BuildKit daemon container with the certificate mounted, recreates it when
// the certificate changes, and points builds at it with BUILDKIT_HOST.
const (
	BuildkitContainer = "rise-buildkit"
	BuildkitImage     = "moby/buildkit:latest" // RISE_BUILDKIT_IMAGE overrides
	buildkitCertLabel = "rise.ssl-cert-sha256"
)

// SSLWarning is printed when SSL_CERT_FILE is set but managed BuildKit is off.
const SSLWarning = `Warning: SSL_CERT_FILE is set but managed BuildKit daemon is disabled.

Railpack builds may fail with SSL certificate errors in corporate environments.

To enable automatic BuildKit daemon management:
  rise build --managed-buildkit ...

Or set environment variable:
  export RISE_MANAGED_BUILDKIT=true

For manual setup, see: https://github.com/NiklasRosenstein/rise/issues/18
`

// proxyVars are forwarded from the CLI's environment to builds and to the
// managed BuildKit daemon.
var proxyVars = []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}

// DockerRunner runs `docker args...` and returns its stdout.
type DockerRunner func(ctx context.Context, args ...string) (string, error)

// execDocker is the real DockerRunner.
func execDocker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// ManagedBuildkitEnabled reports whether managed BuildKit is on: the flag,
// or RISE_MANAGED_BUILDKIT=true|1|yes.
func ManagedBuildkitEnabled(flag bool, getenv func(string) string) bool {
	if flag {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(getenv("RISE_MANAGED_BUILDKIT"))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// usesBuildkit reports whether a build runs on BuildKit and so benefits from
// a daemon with the CA certificate: railpack always, docker with buildx.
// (pack handles SSL_CERT_FILE itself; the classic `docker build` has no
// BuildKit daemon to configure.)
func usesBuildkit(b Backend) bool {
	return b.Name == "railpack" || (b.Name == "docker" && b.Config["buildx"] == true)
}

// buildEnv is the environment handed to the builder: forwarded proxy
// variables, SSL_CERT_FILE, and BUILDKIT_HOST when managed BuildKit runs.
func buildEnv(ctx context.Context, o *Options, b Backend) (map[string]string, error) {
	env := map[string]string{}
	for _, k := range append(proxyVars, "SSL_CERT_FILE", "BUILDKIT_HOST", "DOCKER_HOST", "CONTAINERS_CONF") {
		if v := o.getenv(k); v != "" {
			env[k] = v
		}
	}
	cert := o.getenv("SSL_CERT_FILE")
	if cert == "" || !usesBuildkit(b) {
		return env, nil
	}
	if !ManagedBuildkitEnabled(o.ManagedBuildkit, o.getenv) {
		fmt.Fprint(o.warn(), SSLWarning)
		return env, nil
	}
	host, err := EnsureBuildkit(ctx, o.docker(), cert, o.getenv)
	if err != nil {
		return nil, err
	}
	env["BUILDKIT_HOST"] = host
	return env, nil
}

// EnsureBuildkit makes sure the rise-buildkit container runs with the
// certificate at certFile mounted, recreating it when the certificate
// changed, and returns the BUILDKIT_HOST that reaches it.
func EnsureBuildkit(ctx context.Context, docker DockerRunner, certFile string, getenv func(string) string) (string, error) {
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return "", fmt.Errorf("managed BuildKit: SSL_CERT_FILE=%s cannot be read: %w", certFile, err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(cert))
	host := "docker-container://" + BuildkitContainer
	out, err := docker(ctx, "inspect", "--format", `{{index .Config.Labels "`+buildkitCertLabel+`"}} {{.State.Running}}`, BuildkitContainer)
	if err == nil {
		f := strings.Fields(out)
		switch {
		case len(f) == 2 && f[0] == sum && f[1] == "true":
			return host, nil
		case len(f) == 2 && f[0] == sum:
			if _, err := docker(ctx, "start", BuildkitContainer); err != nil {
				return "", fmt.Errorf("managed BuildKit: start %s: %w", BuildkitContainer, err)
			}
			return host, nil
		default: // the certificate changed (or the container is not ours): recreate
			if _, err := docker(ctx, "rm", "--force", BuildkitContainer); err != nil {
				return "", fmt.Errorf("managed BuildKit: remove outdated %s: %w", BuildkitContainer, err)
			}
		}
	}
	if _, err := docker(ctx, buildkitRunArgs(certFile, sum, getenv)...); err != nil {
		return "", fmt.Errorf("managed BuildKit: start daemon: %w", err)
	}
	return host, nil
}

// buildkitRunArgs is the `docker run` that starts the managed daemon.
func buildkitRunArgs(certFile, sum string, getenv func(string) string) []string {
	image := getenv("RISE_BUILDKIT_IMAGE")
	if image == "" {
		image = BuildkitImage
	}
	args := []string{"run", "--platform", "linux/amd64", "--privileged", "--name", BuildkitContainer, "--rm", "-d",
		"--label", buildkitCertLabel + "=" + sum,
		"--volume", certFile + ":/etc/ssl/certs/ca-certificates.crt:ro"}
	for _, k := range proxyVars {
		if v := getenv(k); v != "" {
			args = append(args, "--env", k+"="+v)
		}
	}
	return append(args, image)
}

func (o *Options) warn() io.Writer {
	if o.Warn != nil {
		return o.Warn
	}
	return os.Stderr
}

func (o *Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

func (o *Options) docker() DockerRunner {
	if o.Docker != nil {
		return o.Docker
	}
	return execDocker
}
