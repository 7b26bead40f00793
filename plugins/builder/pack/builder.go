// Package pack is the builder plugin for Cloud Native Buildpacks through the
// `pack` CLI: `pack build` with a builder image, extra buildpacks and build
// environment; with a push target it publishes straight to the registry
// (--publish) with the short-lived credentials in a temporary DOCKER_CONFIG.
package pack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/buildtool"
)

// DefaultBuilder is the builder image used when none is configured.
const DefaultBuilder = "paketobuildpacks/builder-jammy-base"

// Component is the "pack" builder component (the seed's "buildpacks").
func Component() sdk.Component {
	return sdk.Component{
		Name:        "pack",
		Description: "Cloud Native Buildpacks via the pack CLI",
		New:         func() any { return new(Builder) },
	}
}

// Builder is the plugin's configuration:
//
//	build "pack" {
//	  builder       = "paketobuildpacks/builder-jammy-base"
//	  buildpacks    = ["paketo-buildpacks/go"]
//	  env           = { BP_GO_VERSION = "1.22" }
//	  pull_policy   = "if-not-present"     # always | if-not-present | never
//	  trust_builder = true
//	}
type Builder struct {
	Builder      string            `hcl:"builder,optional"`
	Buildpacks   []string          `hcl:"buildpacks,optional"`
	Env          map[string]string `hcl:"env,optional"`
	PullPolicy   string            `hcl:"pull_policy,optional"`
	TrustBuilder bool              `hcl:"trust_builder,optional"`

	lookPath func(string) (string, error)
}

var (
	_ sdk.Builder   = (*Builder)(nil)
	_ sdk.Validator = (*Builder)(nil)
)

var digestRE = regexp.MustCompile(`Digest: (sha256:[a-f0-9]{64})`)

// Validate checks the configuration.
func (b *Builder) Validate() error {
	switch b.PullPolicy {
	case "", "always", "if-not-present", "never":
		return nil
	default:
		return fmt.Errorf("pull_policy %q is not one of always, if-not-present, never", b.PullPolicy)
	}
}

// Detect always says OK with low confidence: buildpacks decide at build
// time, so pack is the fallback when no other builder claims a directory.
func (b *Builder) Detect(ctx context.Context, dir string) (*sdk.Detection, error) {
	return &sdk.Detection{OK: true, Confidence: 10, Reason: "buildpacks (the fallback builder)"}, nil
}

// Build runs `pack build`.
func (b *Builder) Build(ctx context.Context, req *sdk.BuildRequest, ui sdk.UI) (*sdk.Artifact, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	look := b.lookPath
	if look == nil {
		look = exec.LookPath
	}
	packPath, err := look("pack")
	if err != nil {
		return nil, sdk.Permanent(errors.New("pack builder: `pack` was not found on PATH; install it from " +
			"https://buildpacks.io/docs/for-platform-operators/how-to/integrate-ci/pack/ (brew install buildpacks/tap/pack)"))
	}
	image, push := req.Image, req.Target != nil && req.Target.Image != ""
	if push {
		image = req.Target.Image
	}
	if image == "" {
		return nil, sdk.Permanent(errors.New("pack builder: no image name to build (pass a TAG)"))
	}
	work, err := os.MkdirTemp("", "rise-pack-")
	if err != nil {
		return nil, fmt.Errorf("pack builder: temporary directory: %w", err)
	}
	defer os.RemoveAll(work)
	var overrides []string
	if push && req.Target.Credentials != nil {
		if err := buildtool.WriteDockerConfig(work, req.Target.Credentials); err != nil {
			return nil, fmt.Errorf("pack builder: %w", err)
		}
		overrides = append(overrides, "DOCKER_CONFIG="+work)
	}
	t := buildtool.Tool{Path: packPath, Env: buildtool.Environ(req.Env, overrides...), Dir: req.Dir}
	step := ui.Step(fmt.Sprintf("Building image '%s' with buildpacks (%s)", image, b.builder()))
	out, err := t.Run(ctx, step, b.command(req, image, push)...)
	if err != nil {
		return nil, step.Fail(fmt.Errorf("pack builder: build failed: %w", err))
	}
	step.Done()
	art := &sdk.Artifact{Platform: req.Platform, Local: !push}
	art.Repository, art.Tag = splitRef(image)
	if push {
		m := digestRE.FindStringSubmatch(out)
		if m == nil {
			return nil, fmt.Errorf("pack builder: %w", buildtool.ErrNoDigest)
		}
		art.Digest = m[1]
	}
	return art, nil
}

func (b *Builder) builder() string {
	if b.Builder != "" {
		return b.Builder
	}
	return DefaultBuilder
}

func splitRef(ref string) (repo, tag string) {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}
