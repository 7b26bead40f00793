package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/buildtool"
)

var pushDigestRE = regexp.MustCompile(`digest: (sha256:[a-f0-9]{64})`)

// Build builds req.Dir's Dockerfile, tags the image with req.Image and, when
// req.Target is set, pushes it there and returns the pushed digest.
func (b *Builder) Build(ctx context.Context, req *sdk.BuildRequest, ui sdk.UI) (*sdk.Artifact, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cliPath, err := b.cli()
	if err != nil {
		return nil, err
	}
	podman := filepath.Base(cliPath) == "podman"
	dockerfile, err := b.dockerfile(req.Dir)
	static := ""
	if err != nil {
		if static = staticRoot(req.Dir); static == "" || b.Dockerfile != "" {
			return nil, err
		}
	}
	var tags []string
	if req.Image != "" {
		tags = append(tags, req.Image)
	}
	if req.Target != nil && req.Target.Image != "" && req.Target.Image != req.Image {
		tags = append(tags, req.Target.Image)
	}
	if len(tags) == 0 {
		return nil, sdk.Permanent(fmt.Errorf("docker builder: no image name to tag the build with (pass a TAG)"))
	}
	platform := req.Platform
	if platform == "" {
		platform = b.Platform
	}
	push := req.Target != nil && req.Target.Image != ""

	work, err := os.MkdirTemp("", "rise-docker-build-")
	if err != nil {
		return nil, fmt.Errorf("docker builder: temporary directory: %w", err)
	}
	defer os.RemoveAll(work)
	var overrides []string
	var authFile string
	if push && req.Target.Credentials != nil {
		cfgDir := filepath.Join(work, "config")
		if err := os.Mkdir(cfgDir, 0o700); err != nil {
			return nil, fmt.Errorf("docker builder: temporary registry config: %w", err)
		}
		// The credentials go straight into the temporary config (the format
		// docker login writes and podman reads); no separate login round trip.
		if err := buildtool.WriteDockerConfig(cfgDir, req.Target.Credentials); err != nil {
			return nil, fmt.Errorf("docker builder: %w", err)
		}
		if podman {
			authFile = filepath.Join(cfgDir, "config.json")
			overrides = append(overrides, "REGISTRY_AUTH_FILE="+authFile)
		} else {
			overrides = append(overrides, "DOCKER_CONFIG="+cfgDir)
			linkCLIPlugins(cfgDir, req.Env)
		}
	}
	t := buildtool.Tool{Path: cliPath, Env: buildtool.Environ(req.Env, overrides...), Dir: req.Dir}
	bb, buildDir := b, req.Dir
	if static != "" {
		// A static site: build a generated context (Dockerfile + site/).
		if buildDir, err = b.staticContext(req.Dir, static, work); err != nil {
			return nil, err
		}
		sb := *b
		sb.Context, sb.Target, dockerfile = "", "", "Dockerfile"
		bb = &sb
	}

	metadata := filepath.Join(work, "buildx-metadata.json")
	how := filepath.Base(cliPath) + " build"
	if b.Buildx {
		how = "docker buildx build"
	}
	if static != "" {
		how += " (static site, generated Dockerfile)"
	}
	step := ui.Step(fmt.Sprintf("Building image '%s' with %s", tags[0], how))
	argv := bb.buildCommand(buildDir, dockerfile, tags, platform, mergeArgs(b.BuildArgs, req.BuildArgs), req.NoCache || b.NoCache, push, metadata)
	if _, err := t.Run(ctx, step, argv...); err != nil {
		return nil, step.Fail(fmt.Errorf("docker builder: build failed: %w", err))
	}
	step.Done()

	art := &sdk.Artifact{Platform: platform, Local: !push}
	ref := tags[0]
	if push {
		ref = req.Target.Image
	}
	art.Repository, art.Tag = splitRef(ref)
	if !push {
		return art, nil
	}
	if b.Buildx {
		art.Digest, err = buildxDigest(metadata)
		return art, err
	}
	step = ui.Step(fmt.Sprintf("Pushing image '%s'", ref))
	pushArgs := []string{"push"}
	if podman {
		digestFile := filepath.Join(work, "digest")
		pushArgs = append(pushArgs, "--digestfile", digestFile)
		if authFile != "" {
			pushArgs = append(pushArgs, "--authfile", authFile)
		}
		if insecureRegistry(registryHost(ref)) {
			pushArgs = append(pushArgs, "--tls-verify=false")
		}
		if _, err := t.Run(ctx, step, append(pushArgs, ref)...); err != nil {
			return nil, step.Fail(fmt.Errorf("docker builder: push failed: %w", err))
		}
		d, err := os.ReadFile(digestFile)
		if err != nil || !strings.HasPrefix(string(d), "sha256:") {
			return nil, step.Fail(fmt.Errorf("docker builder: %w (podman wrote no digest file)", buildtool.ErrNoDigest))
		}
		art.Digest = strings.TrimSpace(string(d))
		step.Done()
		return art, nil
	}
	out, err := t.Run(ctx, step, append(pushArgs, ref)...)
	if err != nil {
		return nil, step.Fail(fmt.Errorf("docker builder: push failed: %w", err))
	}
	m := pushDigestRE.FindStringSubmatch(out)
	if m == nil {
		return nil, step.Fail(fmt.Errorf("docker builder: %w: %s", buildtool.ErrNoDigest, buildtool.LastLines(out, 3)))
	}
	art.Digest = m[1]
	step.Done()
	return art, nil
}

// linkCLIPlugins makes docker CLI plugins (buildx) visible from the
// temporary config dir, which replaces the user's config for the build.
func linkCLIPlugins(cfgDir string, env map[string]string) {
	userCfg := env["DOCKER_CONFIG"]
	if userCfg == "" {
		userCfg = os.Getenv("DOCKER_CONFIG")
	}
	if userCfg == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return
		}
		userCfg = filepath.Join(home, ".docker")
	}
	src := filepath.Join(userCfg, "cli-plugins")
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		_ = os.Symlink(src, filepath.Join(cfgDir, "cli-plugins"))
	}
}

func buildxDigest(metadata string) (string, error) {
	b, err := os.ReadFile(metadata)
	if err != nil {
		return "", fmt.Errorf("docker builder: %w: read buildx metadata: %v", buildtool.ErrNoDigest, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("docker builder: %w: parse buildx metadata: %v", buildtool.ErrNoDigest, err)
	}
	d, _ := m["containerimage.digest"].(string)
	if !strings.HasPrefix(d, "sha256:") {
		return "", fmt.Errorf("docker builder: %w: no containerimage.digest in buildx metadata", buildtool.ErrNoDigest)
	}
	return d, nil
}

// splitRef splits repo:tag (a port colon is not a tag).
func splitRef(ref string) (repo, tag string) {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// registryHost returns the registry part of an image reference.
func registryHost(ref string) string {
	if i := strings.IndexByte(ref, '/'); i > 0 {
		return ref[:i]
	}
	return "docker.io"
}
