package build

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/config"
)

func TestParseBackend(t *testing.T) {
	cases := map[string]Backend{
		"docker":            {Name: "docker", Config: map[string]any{}},
		"docker:buildx":     {Name: "docker", Config: map[string]any{"buildx": true}},
		"podman":            {Name: "docker", Config: map[string]any{"container_cli": "podman"}},
		"pack":              {Name: "pack", Config: map[string]any{}},
		"buildpacks":        {Name: "pack", Config: map[string]any{}},
		"railpack":          {Name: "railpack", Config: map[string]any{}},
		"railpack:buildx":   {Name: "railpack", Config: map[string]any{}},
		"railpack:buildctl": {Name: "railpack", Config: map[string]any{"buildctl": true}},
		"nixpacks":          {Name: "nixpacks", Config: map[string]any{}}, // a third-party builder plugin
	}
	for in, want := range cases {
		got, err := ParseBackend(in)
		if err != nil || got.Name != want.Name || !reflect.DeepEqual(got.Config, want.Config) {
			t.Errorf("ParseBackend(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if _, err := ParseBackend("Dock er"); err == nil {
		t.Error("invalid backend accepted")
	}
	if _, err := ParseBackend("buildpack$"); err == nil || !strings.Contains(err.Error(), "Did you mean 'buildpacks'?") {
		t.Errorf("no suggestion: %v", err)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestChoosePrecedence(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		backend string
		want    string
		config  map[string]any
		source  string
	}{
		{"dockerfile auto", map[string]string{"Dockerfile": "FROM x"}, "", "docker", map[string]any{}, "auto-detected (found Dockerfile)"},
		{"containerfile auto", map[string]string{"Containerfile": "FROM x"}, "", "docker", map[string]any{}, "auto-detected"},
		{"railpack.json auto", map[string]string{"railpack.json": "{}", "package.json": "{}"}, "", "railpack", map[string]any{}, "auto-detected"},
		{"fallback pack", map[string]string{"main.go": "package main"}, "", "pack", map[string]any{}, "auto-detected"},
		{"rise.hcl beats detect", map[string]string{"Dockerfile": "FROM x", "rise.hcl": "build \"pack\" {\n  builder = \"b:1\"\n}\n"}, "", "pack", map[string]any{"builder": "b:1"}, "rise.hcl"},
		{"flag beats rise.hcl", map[string]string{"rise.hcl": "build \"pack\" {}\n"}, "railpack:buildctl", "railpack", map[string]any{"buildctl": true}, "--backend"},
		{"flag same builder keeps options", map[string]string{"rise.hcl": "build \"docker\" {\n  dockerfile = \"x.Dockerfile\"\n}\n"}, "docker:buildx", "docker", map[string]any{"buildx": true, "dockerfile": "x.Dockerfile"}, "--backend"},
		{"seed toml buildpacks", map[string]string{".rise.toml": "project = \"secret-app\"\n\n[build]\nbackend = \"buildpacks\"\n", "Dockerfile": "FROM x"}, "", "pack", map[string]any{}, ".rise.toml"},
		{"toml railpack:buildctl", map[string]string{".rise.toml": "[build]\nbackend = \"railpack:buildctl\"\n"}, "", "railpack", map[string]any{"buildctl": true}, ".rise.toml"},
	}
	for _, c := range cases {
		dir := writeFiles(t, c.files)
		app, err := config.LoadApp(dir)
		if err != nil && !strings.Contains(err.Error(), "no app config") {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, err := Choose(context.Background(), inProcess(nil), c.backend, app, dir)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if b.Name != c.want || !reflect.DeepEqual(b.Config, c.config) || !strings.HasPrefix(b.Source, c.source) {
			t.Errorf("%s: got %s %v (%s), want %s %v (%s)", c.name, b.Name, b.Config, b.Source, c.want, c.config, c.source)
		}
	}
}

func TestDetectFailsClearlyWhenNoBuilderStarts(t *testing.T) {
	none := func(ctx context.Context, name string, cfg []byte) (sdkBuilder, error) { return nil, os.ErrNotExist }
	_, err := Choose(context.Background(), Launcher(none), "", nil, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--backend") {
		t.Fatalf("err = %v", err)
	}
}
