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

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// startRegistry runs a real OCI distribution registry (go-containerregistry's)
// on a loopback port and returns its host:port.
func startRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestConformance runs the SDK's builder conformance suite in-process over
// real gRPC, building and pushing for real.
func TestConformance(t *testing.T) {
	reg := startRegistry(t)
	sdktest.BuilderConformance(t, Component(), map[string]any{"entrypoint": []string{"/app/bin/serve"}},
		sdktest.WithBuildDir(app(t), func(dir string) *sdk.BuildRequest {
			return &sdk.BuildRequest{Project: "site", Dir: dir, Image: reg + "/rise/site:v1",
				Target: &sdk.PushTarget{Image: reg + "/rise/site:v1", Credentials: &sdk.Credentials{Registry: reg}}}
		}))
}

// TestPushedImage pulls what Build pushed: the files are at dest with their
// modes, the entrypoint and labels are set, and a rebuild of the same files
// gives the same digest.
func TestPushedImage(t *testing.T) {
	reg := startRegistry(t)
	b := sdktest.Builder(t, Component(), map[string]any{"dest": "/srv/site", "entrypoint": []string{"/srv/site/bin/serve"}})
	dir := app(t)
	if d, err := b.Detect(context.Background(), dir); err != nil || !d.OK || d.Confidence != 50 || d.Reason != "found dist/" {
		t.Errorf("Detect(app) = %+v, %v", d, err)
	}
	req := &sdk.BuildRequest{Project: "site", Dir: dir, Target: &sdk.PushTarget{Image: reg + "/rise/site:v1"}}
	ui := &sdktest.RecordingUI{}
	a, err := b.Build(context.Background(), req, ui)
	if err != nil {
		t.Fatal(err)
	}
	if a.Repository != reg+"/rise/site" || a.Tag != "v1" || !strings.HasPrefix(a.Digest, "sha256:") || a.Local {
		t.Fatalf("artifact %+v", *a)
	}
	if ev := ui.Events(); !slices.Contains(ev, "step Packaging dist/ into /srv/site") || !slices.Contains(ev, "done Pushing "+reg+"/rise/site:v1") {
		t.Errorf("UI events %q", ev)
	}

	ref, err := name.ParseReference(reg + "/rise/site@" + a.Digest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
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
}

// TestLocalLayoutAndBase builds without a push target on top of a base image
// from the registry: the image lands in the OCI layout with the base's layer
// first.
func TestLocalLayoutAndBase(t *testing.T) {
	reg := startRegistry(t)
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
