package railpack

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/riseplatform/rise/sdk"
)

// Files railpack writes into the build's work directory.
const (
	planFile     = "railpack-plan.json"
	infoFile     = "railpack-info.json"
	metadataFile = "metadata.json"
	imageTar     = "image.tar"
)

// prepareCommand is `railpack prepare`, writing the plan into work.
func (b *Builder) prepareCommand(req *sdk.BuildRequest, work string) []string {
	argv := []string{"prepare", req.Dir, "--plan-out", filepath.Join(work, planFile), "--info-out", filepath.Join(work, infoFile)}
	env := map[string]string{}
	for k, v := range b.Env {
		env[k] = v
	}
	for k, v := range req.BuildArgs {
		env[k] = v
	}
	for _, k := range sortedKeys(env) {
		argv = append(argv, "--env", k+"="+env[k])
	}
	if b.BuildCmd != "" {
		argv = append(argv, "--build-cmd", b.BuildCmd)
	}
	if b.StartCmd != "" {
		argv = append(argv, "--start-cmd", b.StartCmd)
	}
	return argv
}

// buildxCommand is `docker buildx build` of the plan with railpack's frontend.
func (b *Builder) buildxCommand(req *sdk.BuildRequest, image string, push bool, work string) []string {
	argv := []string{"buildx", "build",
		"--build-arg", "BUILDKIT_SYNTAX=" + b.frontend(),
		"--file", filepath.Join(work, planFile),
		"--tag", image}
	if req.Platform != "" {
		argv = append(argv, "--platform", req.Platform)
	}
	if req.NoCache {
		argv = append(argv, "--no-cache")
	}
	if push {
		out := "type=image,name=" + image + ",push=true"
		if isLoopback(registryHost(image)) {
			out += ",registry.insecure=true"
		}
		argv = append(argv, "--output", out)
	} else {
		argv = append(argv, "--load")
	}
	return append(argv, "--metadata-file", filepath.Join(work, metadataFile), "--progress", "plain", req.Dir)
}

// buildctlCommand is `buildctl build` of the plan with railpack's frontend
// (gateway.v0). Without push the image is written as a docker tarball to be
// `docker load`ed.
func (b *Builder) buildctlCommand(req *sdk.BuildRequest, image string, push bool, work string) []string {
	argv := []string{"build",
		"--local", "context=" + req.Dir,
		"--local", "dockerfile=" + work,
		"--frontend", "gateway.v0",
		"--opt", "source=" + b.frontend(),
		"--opt", "filename=" + planFile}
	if req.Platform != "" {
		argv = append(argv, "--opt", "platform="+req.Platform)
	}
	if req.NoCache {
		argv = append(argv, "--no-cache")
	}
	if push {
		out := "type=image,name=" + image + ",push=true"
		if isLoopback(registryHost(image)) {
			out += ",registry.insecure=true"
		}
		argv = append(argv, "--output", out)
	} else {
		argv = append(argv, "--output", "type=docker,name="+image+",dest="+filepath.Join(work, imageTar))
	}
	return append(argv, "--metadata-file", filepath.Join(work, metadataFile), "--progress", "plain")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
