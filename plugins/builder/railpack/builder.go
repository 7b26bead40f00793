// Package railpack is the builder plugin for Railway's railpack: `railpack
// prepare` writes a build plan, then BuildKit builds it with railpack's
// frontend, through `docker buildx build` (default) or `buildctl`
// (railpack:buildctl, honouring BUILDKIT_HOST, e.g. rise's managed BuildKit).
package railpack

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

// DefaultFrontend is railpack's BuildKit frontend image.
const DefaultFrontend = "ghcr.io/railwayapp/railpack-frontend"

// Component is the "railpack" builder component.
func Component() sdk.Component {
	return sdk.Component{
		Name:        "railpack",
		Description: "Railway railpack: railpack prepare, then BuildKit via docker buildx or buildctl",
		New:         func() any { return new(Builder) },
	}
}

// Builder is the plugin's configuration:
//
//	build "railpack" {
//	  buildctl  = false                 # true: buildctl instead of docker buildx
//	  build_cmd = "npm run build"
//	  start_cmd = "node server.js"
//	  env       = { NODE_ENV = "production" }
//	  frontend  = "ghcr.io/railwayapp/railpack-frontend"
//	}
type Builder struct {
	Buildctl bool              `hcl:"buildctl,optional"`
	Buildx   bool              `hcl:"buildx,optional"` // the default; accepted for railpack:buildx
	BuildCmd string            `hcl:"build_cmd,optional"`
	StartCmd string            `hcl:"start_cmd,optional"`
	Env      map[string]string `hcl:"env,optional"`
	Frontend string            `hcl:"frontend,optional"`

	lookPath func(string) (string, error)
}

var (
	_ sdk.Builder   = (*Builder)(nil)
	_ sdk.Validator = (*Builder)(nil)
)

// Validate checks the configuration.
func (b *Builder) Validate() error {
	if b.Buildctl && b.Buildx {
		return errors.New("buildctl and buildx are exclusive: pick one BuildKit client")
	}
	return nil
}

// Detect claims a directory with a railpack.json (high confidence); other
// directories are left to pack, the fallback, unless railpack is chosen.
func (b *Builder) Detect(ctx context.Context, dir string) (*sdk.Detection, error) {
	if _, err := os.Stat(filepath.Join(dir, "railpack.json")); err == nil {
		return &sdk.Detection{OK: true, Confidence: 90, Reason: "found railpack.json"}, nil
	}
	return &sdk.Detection{Reason: "no railpack.json (choose railpack with --backend railpack)"}, nil
}

func (b *Builder) frontend() string {
	if b.Frontend != "" {
		return b.Frontend
	}
	return DefaultFrontend
}

var install = map[string]string{
	"railpack": "install it from https://railpack.com/installation (curl -sSL https://railpack.com/install.sh | sh)",
	"docker":   "install Docker Engine with the buildx plugin: https://docs.docker.com/engine/install/",
	"buildctl": "install BuildKit's buildctl: https://github.com/moby/buildkit/releases",
}

func (b *Builder) find(tool string) (string, error) {
	look := b.lookPath
	if look == nil {
		look = exec.LookPath
	}
	p, err := look(tool)
	if err != nil {
		return "", sdk.Permanent(fmt.Errorf("railpack builder: `%s` was not found on PATH; %s", tool, install[tool]))
	}
	return p, nil
}

func splitRef(ref string) (repo, tag string) {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}
