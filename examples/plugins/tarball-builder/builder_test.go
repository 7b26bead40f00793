package main

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// app writes a small prebuilt app: dist/index.html and dist/bin/serve.
func app(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "dist", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{"dist/index.html": "<h1>hello</h1>\n", "dist/bin/serve": "#!/bin/sh\n"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startRiseRegistry runs the real registry (distribution) behind rise's
// token service and returns push credentials for project's repository.
// The realm is written as "localhost": go-containerregistry refuses a realm
// on a loopback IP address.
func startRiseRegistry(t *testing.T, project string) *sdk.Credentials {
	return registrytest.StartRiseRealmHost(t, "localhost").Credentials(t, project, true, 0)
}

// startMemRegistry runs go-containerregistry's in-memory registry, without
// authentication, on a loopback port and returns its host:port: for a base
// image pulled anonymously by a build without a push target.
func startMemRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestConformance runs the SDK's builder conformance suite in-process over
// real gRPC, building and pushing for real to a registry with rise's token
// authentication.
func TestConformance(t *testing.T) {
	creds := startRiseRegistry(t, "site")
	sdktest.BuilderConformance(t, Component(), map[string]any{"entrypoint": []string{"/app/bin/serve"}},
		sdktest.WithBuildDir(app(t), func(dir string) *sdk.BuildRequest {
			return &sdk.BuildRequest{Project: "site", Dir: dir, Image: creds.Repository + ":v1",
				Target: &sdk.PushTarget{Image: creds.Repository + ":v1", Credentials: creds}}
		}))
}

// TestPushedImage pulls what Build pushed: the files are at dest with their
// modes, the entrypoint and labels are set, and a rebuild of the same files
// gives the same digest. The credentials of project "site" cannot push to
// another project's repository.
func TestPushedImage(t *testing.T) {
	creds := startRiseRegistry(t, "site")
	repo := creds.Repository // 127.0.0.1:<port>/rise/site
	b := sdktest.Builder(t, Component(), map[string]any{"dest": "/srv/site", "entrypoint": []string{"/srv/site/bin/serve"}})
	dir := app(t)
	if d, err := b.Detect(context.Background(), dir); err != nil || !d.OK || d.Confidence != 50 || d.Reason != "found dist/" {
		t.Errorf("Detect(app) = %+v, %v", d, err)
	}
	req := &sdk.BuildRequest{Project: "site", Dir: dir, Target: &sdk.PushTarget{Image: repo + ":v1", Credentials: creds}}
	ui := &sdktest.RecordingUI{}
	a, err := b.Build(context.Background(), req, ui)
	if err != nil {
		t.Fatal(err)
	}
	if a.Repository != repo || a.Tag != "v1" || !strings.HasPrefix(a.Digest, "sha256:") || a.Local {
		t.Fatalf("artifact %+v", *a)
	}
	if ev := ui.Events(); !slices.Contains(ev, "step Packaging dist/ into /srv/site") || !slices.Contains(ev, "done Pushing "+repo+":v1") {
		t.Errorf("UI events %q", ev)
	}

	ref, err := name.ParseReference(repo + "@" + a.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref); err == nil {
		t.Error("anonymous pull of the pushed image succeeded; the registry must require a token")
	}
	img, err := remote.Image(ref, remote.WithAuth(&authn.Basic{Username: creds.Username, Password: creds.Password}))
	if err != nil {
		t.Fatalf("pull what was pushed: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/srv/site/bin/serve"}) || cf.Config.Labels["rise.project"] != "site" || cf.Config.WorkingDir != "/srv/site" {
		t.Errorf("image config %+v", cf.Config)
	}
	files := map[string]int64{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h.Mode
	}
	for f, mode := range map[string]int64{"srv": 0o755, "srv/site": 0o755, "srv/site/index.html": 0o755, "srv/site/bin/serve": 0o755} {
		if m, ok := files[f]; !ok || m != mode {
			t.Errorf("%s: mode %o present %v (files %v)", f, m, ok, files)
		}
	}

	again, err := b.Build(context.Background(), req, &sdktest.RecordingUI{})
	if err != nil || again.Digest != a.Digest {
		t.Errorf("rebuild: digest %s, %v; want %s (reproducible)", again.Digest, err, a.Digest)
	}

	other := strings.TrimSuffix(repo, "/site") + "/other:v1"
	_, err = b.Build(context.Background(), &sdk.BuildRequest{Project: "site", Dir: dir,
		Target: &sdk.PushTarget{Image: other, Credentials: creds}}, &sdktest.RecordingUI{})
	if err == nil {
		t.Errorf("pushed %s with the credentials of project site", other)
	}
}

// TestLocalLayoutAndBase builds without a push target on top of a base image
// from an open registry: the image lands in the OCI layout with the base's
// layer first.
func TestLocalLayoutAndBase(t *testing.T) {
	reg := startMemRegistry(t)
	baseDir := t.TempDir()
	base := sdktest.Builder(t, Component(), map[string]any{"dest": "/base"})
	if err := os.MkdirAll(filepath.Join(baseDir, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(baseDir, "dist", "os-release"), []byte("ID=base\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := base.Build(context.Background(), &sdk.BuildRequest{Dir: baseDir, Target: &sdk.PushTarget{Image: reg + "/base:1"}}, &sdktest.RecordingUI{}); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "oci")
	b := sdktest.Builder(t, Component(), map[string]any{"base": reg + "/base:1", "layout": out})
	a, err := b.Build(context.Background(), &sdk.BuildRequest{Project: "site", Dir: app(t), Image: "localhost/site:dev"}, &sdktest.RecordingUI{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Local || a.Repository != "localhost/site" || a.Tag != "dev" {
		t.Fatalf("artifact %+v", *a)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != a.Digest {
		t.Fatalf("layout index %+v, %v; want the artifact %s", m, err, a.Digest)
	}
	img, err := p.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if layers, err := img.Layers(); err != nil || len(layers) != 2 {
		t.Fatalf("layers %d, %v; want base + app", len(layers), err)
	}
}

// TestConfigErrors: a relative dest or a source outside the app are
// diagnostics on the build block; a missing source directory is a clear
// build error.
func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	b := sdktest.Builder(t, Component(), map[string]any{"dest": "app", "source": "../secrets"})
	_, err := b.Detect(ctx, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `dest "app" must be an absolute path`) || !strings.Contains(err.Error(), `source "../secrets" must be a directory inside the app`) {
		t.Errorf("bad config: %v", err)
	}
	b = sdktest.Builder(t, Component(), map[string]any{})
	if d, err := b.Detect(ctx, t.TempDir()); err != nil || d.OK {
		t.Errorf("Detect(no dist) = %+v, %v", d, err)
	}
	_, err = b.Build(ctx, &sdk.BuildRequest{Dir: t.TempDir(), Image: "localhost/x:1"}, &sdktest.RecordingUI{})
	if err == nil || !strings.Contains(err.Error(), "is not a directory: nothing to package") {
		t.Errorf("Build without dist/: %v", err)
	}
}
