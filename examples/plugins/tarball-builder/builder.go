package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/riseplatform/rise/sdk"
)

// Builder packages Source (a directory of the app) at Dest in an image
// based on Base. Its exported fields are the config schema of
// build "tarball" { ... } in rise.hcl.
type Builder struct {
	Base       string   `hcl:"base,optional"`       // base image; empty: none (like FROM scratch)
	Source     string   `hcl:"source,optional"`     // app directory to package (default "dist")
	Dest       string   `hcl:"dest,optional"`       // where it goes in the image (default "/app")
	Entrypoint []string `hcl:"entrypoint,optional"` // the image's entrypoint
	Layout     string   `hcl:"layout,optional"`     // OCI layout directory for builds without a push target (default "<app>/.rise/oci")
	Insecure   bool     `hcl:"insecure,optional"`   // plain-HTTP registries (loopback ones are always allowed)
}

var (
	_ sdk.Builder     = (*Builder)(nil)
	_ sdk.Provisioner = (*Builder)(nil)
	_ sdk.Validator   = (*Builder)(nil)
)

// Validate checks the config before Provision (unset attributes are still
// empty); errors wrapped with sdk.AttrError are shown at the attribute's
// file:line.
func (b *Builder) Validate() error {
	var errs []error
	if b.Dest != "" && !path.IsAbs(b.Dest) {
		errs = append(errs, sdk.AttrError("dest", fmt.Errorf("dest %q must be an absolute path in the image", b.Dest)))
	}
	if b.Source != "" && !filepath.IsLocal(b.Source) {
		errs = append(errs, sdk.AttrError("source", fmt.Errorf("source %q must be a directory inside the app", b.Source)))
	}
	if b.Base != "" {
		if _, err := name.ParseReference(b.Base); err != nil {
			errs = append(errs, sdk.AttrError("base", fmt.Errorf("base: %w", err)))
		}
	}
	return errors.Join(errs...)
}

// Provision fills in defaults once the config is valid.
func (b *Builder) Provision(context.Context) error {
	if b.Source == "" {
		b.Source = "dist"
	}
	if b.Dest == "" {
		b.Dest = "/app"
	}
	return nil
}

// Detect says yes to apps that have a Source directory, with a confidence
// above the buildpacks fallback (10) and below a Dockerfile (100) or a
// railpack.json (90): an explicit build recipe still wins.
func (b *Builder) Detect(_ context.Context, dir string) (*sdk.Detection, error) {
	fi, err := os.Stat(filepath.Join(dir, b.Source))
	if err != nil || !fi.IsDir() {
		return &sdk.Detection{Reason: "no " + b.Source + "/ directory"}, nil
	}
	return &sdk.Detection{OK: true, Confidence: 50, Reason: "found " + b.Source + "/"}, nil
}

// Build makes the image and pushes it to req.Target, or writes it to the
// OCI layout when there is no target. The layer is reproducible: the same
// files give the same digest.
func (b *Builder) Build(ctx context.Context, req *sdk.BuildRequest, ui sdk.UI) (*sdk.Artifact, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	src := filepath.Join(req.Dir, b.Source)
	step := ui.Step(fmt.Sprintf("Packaging %s/ into %s", b.Source, b.Dest))
	layer, err := dirLayer(ctx, src, b.Dest)
	if err != nil {
		return nil, step.Fail(err)
	}
	base, err := b.base(ctx, req)
	if err != nil {
		return nil, step.Fail(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err == nil {
		img, err = b.configure(img, req)
	}
	if err != nil {
		return nil, step.Fail(fmt.Errorf("assemble image: %w", err))
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, step.Fail(fmt.Errorf("image digest: %w", err))
	}
	step.Done()

	if req.Target == nil {
		return b.writeLayout(req, img, digest.String(), ui)
	}
	ref, err := name.ParseReference(req.Target.Image, b.nameOptions()...)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("push target: %w", err))
	}
	step = ui.Step("Pushing " + ref.String())
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(auth(req.Target.Credentials))); err != nil {
		if ctx.Err() != nil {
			return nil, step.Fail(ctx.Err())
		}
		return nil, step.Fail(fmt.Errorf("push %s: %w", ref, err))
	}
	step.Done()
	return &sdk.Artifact{Repository: ref.Context().String(), Tag: tagOf(ref), Digest: digest.String(),
		Labels: map[string]string{"rise.builder": "tarball"}}, nil
}

// base returns the base image, pulled with the push credentials when it
// lives in the same registry, anonymously otherwise.
func (b *Builder) base(ctx context.Context, req *sdk.BuildRequest) (v1.Image, error) {
	if b.Base == "" {
		return empty.Image, nil
	}
	ref, err := name.ParseReference(b.Base, b.nameOptions()...)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("base %q: %w", b.Base, err))
	}
	var creds *sdk.Credentials
	if req.Target != nil && req.Target.Credentials != nil && req.Target.Credentials.Registry == ref.Context().RegistryStr() {
		creds = req.Target.Credentials
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(auth(creds))}
	if req.Platform != "" {
		p, err := v1.ParsePlatform(req.Platform)
		if err != nil {
			return nil, sdk.Permanent(fmt.Errorf("platform %q: %w", req.Platform, err))
		}
		opts = append(opts, remote.WithPlatform(*p))
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("pull base image %s: %w", b.Base, err)
	}
	return img, nil
}

func (b *Builder) configure(img v1.Image, req *sdk.BuildRequest) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg := cf.Config
	if len(b.Entrypoint) > 0 {
		cfg.Entrypoint, cfg.Cmd = b.Entrypoint, nil
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels["rise.project"] = req.Project
	cfg.WorkingDir = b.Dest
	return mutate.Config(img, cfg)
}

func (b *Builder) writeLayout(req *sdk.BuildRequest, img v1.Image, digest string, ui sdk.UI) (*sdk.Artifact, error) {
	dir := b.Layout
	if dir == "" {
		dir = filepath.Join(req.Dir, ".rise", "oci")
	}
	step := ui.Step("Writing the image to the OCI layout " + dir)
	p, err := layout.FromPath(dir)
	if err != nil {
		p, err = layout.Write(dir, empty.Index)
	}
	if err == nil {
		err = p.AppendImage(img)
	}
	if err != nil {
		return nil, step.Fail(fmt.Errorf("write OCI layout %s: %w", dir, err))
	}
	step.Done()
	a := &sdk.Artifact{Repository: req.Image, Digest: digest, Local: true}
	if ref, err := name.ParseReference(req.Image, b.nameOptions()...); err == nil {
		a.Repository, a.Tag = ref.Context().String(), tagOf(ref)
	}
	return a, nil
}

func (b *Builder) nameOptions() []name.Option {
	if b.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func auth(c *sdk.Credentials) authn.Authenticator {
	if c == nil || c.Username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: c.Username, Password: c.Password}
}

func tagOf(ref name.Reference) string {
	if t, ok := ref.(name.Tag); ok {
		return t.TagStr()
	}
	return ""
}
