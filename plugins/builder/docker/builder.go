// Package docker is the builder plugin for Dockerfile/Containerfile builds
// with `docker build`, `docker buildx build` or `podman build`, pushing with
// the short-lived credentials rise hands out (in a temporary DOCKER_CONFIG,
// never the user's ~/.docker).
package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/riseplatform/rise/sdk"
)

// Component is the "docker" builder component. `docker:buildx` in the CLI is
// this component with buildx = true.
func Component() sdk.Component {
	return sdk.Component{
		Name:        "docker",
		Description: "Dockerfile/Containerfile builds with docker build, docker buildx build or podman build",
		New:         func() any { return new(Builder) },
	}
}

// Builder is the plugin's configuration:
//
//	build "docker" {
//	  dockerfile    = "Dockerfile"      # relative to the app directory
//	  context       = "."               # relative to the app directory
//	  build_args    = { BASE = "alpine:3.20" }
//	  platform      = "linux/amd64"
//	  no_cache      = false
//	  buildx        = false             # docker buildx build
//	  container_cli = "docker"          # or "podman"; default: docker, else podman
//	  base_image    = "busybox:1.37"    # static sites without a Dockerfile (see static.go)
//	}
//
// A directory without a Dockerfile whose root or public/ has an index.html is
// a static site: it is built from a generated Dockerfile serving the files
// with busybox httpd on port 8080 (base_image, or --build-arg BASE_IMAGE).
type Builder struct {
	Dockerfile   string            `hcl:"dockerfile,optional"`
	Context      string            `hcl:"context,optional"`
	BuildArgs    map[string]string `hcl:"build_args,optional"`
	Platform     string            `hcl:"platform,optional"`
	NoCache      bool              `hcl:"no_cache,optional"`
	Buildx       bool              `hcl:"buildx,optional"`
	ContainerCLI string            `hcl:"container_cli,optional"`
	Target       string            `hcl:"target,optional"`     // multi-stage build target
	BaseImage    string            `hcl:"base_image,optional"` // static sites: image with busybox httpd

	// lookPath finds tools; replaced in tests.
	lookPath func(string) (string, error)
}

var (
	_ sdk.Builder   = (*Builder)(nil)
	_ sdk.Validator = (*Builder)(nil)
)

// dockerfileNames are looked for, in order, when dockerfile is not set.
var dockerfileNames = []string{"Dockerfile", "Containerfile"}

// Validate checks the configuration.
func (b *Builder) Validate() error {
	var errs []error
	switch b.ContainerCLI {
	case "", "docker", "podman":
	default:
		errs = append(errs, fmt.Errorf("container_cli %q is not supported: use \"docker\" or \"podman\"", b.ContainerCLI))
	}
	if b.Buildx && b.ContainerCLI == "podman" {
		errs = append(errs, errors.New("buildx = true needs container_cli = \"docker\" (podman has no buildx)"))
	}
	for _, p := range []struct{ name, v string }{{"dockerfile", b.Dockerfile}, {"context", b.Context}} {
		if filepath.IsAbs(p.v) || strings.HasPrefix(filepath.Clean(p.v), "..") {
			errs = append(errs, fmt.Errorf("%s %q must be a path inside the app directory", p.name, p.v))
		}
	}
	return errors.Join(errs...)
}

// Detect says OK when dir has a Dockerfile or Containerfile, and, with a
// low confidence, for a static site (index.html at the root or in public/).
func (b *Builder) Detect(ctx context.Context, dir string) (*sdk.Detection, error) {
	if b.Dockerfile != "" {
		if fileExists(filepath.Join(dir, b.Dockerfile)) {
			return &sdk.Detection{OK: true, Confidence: 100, Reason: "found " + b.Dockerfile}, nil
		}
		return &sdk.Detection{Reason: b.Dockerfile + " not found"}, nil
	}
	for _, name := range dockerfileNames {
		if fileExists(filepath.Join(dir, name)) {
			return &sdk.Detection{OK: true, Confidence: 100, Reason: "found " + name}, nil
		}
	}
	if r := staticRoot(dir); r != "" {
		return &sdk.Detection{OK: true, Confidence: staticConfidence,
			Reason: "static site (" + filepath.Join(r, "index.html") + ", no Dockerfile)"}, nil
	}
	return &sdk.Detection{Reason: "no Dockerfile, Containerfile or index.html"}, nil
}

// dockerfile returns the Dockerfile path relative to dir.
func (b *Builder) dockerfile(dir string) (string, error) {
	if b.Dockerfile != "" {
		if !fileExists(filepath.Join(dir, b.Dockerfile)) {
			return "", sdk.Permanent(fmt.Errorf("dockerfile %q not found in %s", b.Dockerfile, dir))
		}
		return b.Dockerfile, nil
	}
	for _, name := range dockerfileNames {
		if fileExists(filepath.Join(dir, name)) {
			return name, nil
		}
	}
	return "", sdk.Permanent(fmt.Errorf("no Dockerfile or Containerfile in %s (set dockerfile = \"...\" or pick another builder with --backend)", dir))
}

// cli picks the container CLI: configured, else docker, else podman.
func (b *Builder) cli() (string, error) {
	look := b.lookPath
	if look == nil {
		look = exec.LookPath
	}
	if b.ContainerCLI != "" {
		p, err := look(b.ContainerCLI)
		if err != nil {
			return "", sdk.Permanent(missingTool(b.ContainerCLI))
		}
		return p, nil
	}
	if p, err := look("docker"); err == nil {
		return p, nil
	}
	if p, err := look("podman"); err == nil {
		return p, nil
	}
	return "", sdk.Permanent(errors.New("docker builder: neither `docker` nor `podman` was found on PATH; " +
		"install Docker Engine (https://docs.docker.com/engine/install/) or Podman (apt-get install podman, brew install podman)"))
}

func missingTool(tool string) error {
	how := map[string]string{
		"docker": "install Docker Engine: https://docs.docker.com/engine/install/",
		"podman": "install Podman: apt-get install podman (Debian/Ubuntu), brew install podman (macOS)",
	}[tool]
	return fmt.Errorf("docker builder: `%s` was not found on PATH; %s", tool, how)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
