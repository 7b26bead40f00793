package pack

import (
	"sort"
	"strings"

	"github.com/riseplatform/rise/sdk"
)

// command is the `pack` argv for a build of image. Build args become build
// environment (--env), after the configured env (request wins).
func (b *Builder) command(req *sdk.BuildRequest, image string, push bool) []string {
	argv := []string{"build", image, "--path", req.Dir, "--builder", b.builder()}
	for _, bp := range b.Buildpacks {
		argv = append(argv, "--buildpack", bp)
	}
	env := map[string]string{}
	for k, v := range b.Env {
		env[k] = v
	}
	for k, v := range req.BuildArgs {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		argv = append(argv, "--env", k+"="+env[k])
	}
	if req.Platform != "" {
		argv = append(argv, "--platform", req.Platform)
	}
	if b.PullPolicy != "" {
		argv = append(argv, "--pull-policy", b.PullPolicy)
	}
	if b.TrustBuilder {
		argv = append(argv, "--trust-builder")
	}
	if req.NoCache {
		argv = append(argv, "--clear-cache")
	}
	if push {
		argv = append(argv, "--publish")
		if host := registryHost(image); isLoopback(host) {
			argv = append(argv, "--insecure-registry", host)
		}
	}
	return argv
}

func registryHost(ref string) string {
	if i := strings.IndexByte(ref, '/'); i > 0 && strings.ContainsAny(ref[:i], ".:") {
		return ref[:i]
	}
	return "docker.io"
}

func isLoopback(host string) bool {
	h := host
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return h == "localhost" || h == "127.0.0.1" || h == "[::1]" || strings.HasSuffix(h, ".localhost")
}
