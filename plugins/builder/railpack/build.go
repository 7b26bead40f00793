package railpack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/buildtool"
)

// Build prepares a plan with railpack and builds it with BuildKit.
func (b *Builder) Build(ctx context.Context, req *sdk.BuildRequest, ui sdk.UI) (*sdk.Artifact, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	railpack, err := b.find("railpack")
	if err != nil {
		return nil, err
	}
	client := "docker"
	if b.Buildctl {
		client = "buildctl"
	}
	clientPath, err := b.find(client)
	if err != nil {
		return nil, err
	}
	var dockerPath string
	push := req.Target != nil && req.Target.Image != ""
	if b.Buildctl && !push {
		if dockerPath, err = b.find("docker"); err != nil {
			return nil, err
		}
	}
	image := req.Image
	if push {
		image = req.Target.Image
	}
	if image == "" {
		return nil, sdk.Permanent(errors.New("railpack builder: no image name to build (pass a TAG)"))
	}
	work, err := os.MkdirTemp("", "rise-railpack-")
	if err != nil {
		return nil, fmt.Errorf("railpack builder: temporary directory: %w", err)
	}
	defer os.RemoveAll(work)
	var overrides []string
	if push && req.Target.Credentials != nil {
		if err := buildtool.WriteDockerConfig(work, req.Target.Credentials); err != nil {
			return nil, fmt.Errorf("railpack builder: %w", err)
		}
		overrides = append(overrides, "DOCKER_CONFIG="+work)
	}
	env := buildtool.Environ(req.Env, overrides...)

	step := ui.Step("Preparing railpack build plan")
	if _, err := (buildtool.Tool{Path: railpack, Env: env, Dir: req.Dir}).Run(ctx, step, b.prepareCommand(req, work)...); err != nil {
		return nil, step.Fail(fmt.Errorf("railpack builder: prepare failed: %w", err))
	}
	step.Done()

	step = ui.Step(fmt.Sprintf("Building image '%s' with railpack (%s)", image, client))
	argv := b.buildxCommand(req, image, push, work)
	if b.Buildctl {
		argv = b.buildctlCommand(req, image, push, work)
	}
	if _, err := (buildtool.Tool{Path: clientPath, Env: env, Dir: req.Dir}).Run(ctx, step, argv...); err != nil {
		return nil, step.Fail(fmt.Errorf("railpack builder: build failed: %w", err))
	}
	if b.Buildctl && !push {
		if _, err := (buildtool.Tool{Path: dockerPath, Env: env, Dir: req.Dir}).Run(ctx, step, "load", "--input", filepath.Join(work, imageTar)); err != nil {
			return nil, step.Fail(fmt.Errorf("railpack builder: load image: %w", err))
		}
	}
	step.Done()
	art := &sdk.Artifact{Platform: req.Platform, Local: !push}
	art.Repository, art.Tag = splitRef(image)
	if push {
		if art.Digest, err = metadataDigest(filepath.Join(work, metadataFile)); err != nil {
			return nil, err
		}
	}
	return art, nil
}

func metadataDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("railpack builder: %w: %v", buildtool.ErrNoDigest, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("railpack builder: %w: %v", buildtool.ErrNoDigest, err)
	}
	d, _ := m["containerimage.digest"].(string)
	if !strings.HasPrefix(d, "sha256:") {
		return "", fmt.Errorf("railpack builder: %w: no containerimage.digest in build metadata", buildtool.ErrNoDigest)
	}
	return d, nil
}
