package build

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/sdk"
)

// recordingBuilder records what the orchestration asks a builder for.
type recordingBuilder struct {
	name   string
	config map[string]any
	req    *sdk.BuildRequest
}

func (r *recordingBuilder) Build(_ context.Context, req *sdk.BuildRequest, _ sdk.UI) (*sdk.Artifact, error) {
	r.req = req
	return &sdk.Artifact{Repository: "local", Tag: "x", Local: true}, nil
}

func (r *recordingBuilder) Detect(context.Context, string) (*sdk.Detection, error) {
	return &sdk.Detection{OK: true, Confidence: 1, Reason: "test"}, nil
}

func (r *recordingBuilder) launch(_ context.Context, name string, cfg []byte) (sdk.Builder, error) {
	r.name = name
	r.config = map[string]any{}
	if err := json.Unmarshal(cfg, &r.config); err != nil {
		return nil, err
	}
	return r, nil
}

// TestReferenceTOMLBuildOptions: a reference rise rise.toml's [build]
// (backend docker:buildx, build_context, env with a KEY from the
// environment, platform, no_cache) reaches the builder as options, and the
// command line's --build-arg and --platform win.
func TestReferenceTOMLBuildOptions(t *testing.T) {
	dir := t.TempDir()
	toml := "[project]\nname = \"shop\"\n\n[build]\nbackend = \"docker:buildx\"\nbuild_context = \"./app\"\nenv = [\"NODE_ENV=production\", \"GIT_SHA\", \"A=1\"]\nplatform = \"linux/arm64\"\nno_cache = true\ncustom_domains = 1\n"
	if err := os.WriteFile(filepath.Join(dir, "rise.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	rb := &recordingBuilder{}
	_, err := Run(context.Background(), Options{Dir: dir, Launch: rb.launch, Warn: &warn, AppWarnings: true}, DiscardUI())
	if err == nil || !strings.Contains(err.Error(), `[build] does not know the key "custom_domains"`) {
		t.Fatalf("unknown [build] key: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rise.toml"), []byte(strings.Replace(toml, "custom_domains = 1\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".rise.toml"), []byte("project = \"old\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_SHA", "abc123")
	res, err := DeployFunc(rb.launch)(context.Background(), clictx.BuildRequest{
		Dir: dir, Image: "shop:dev", Local: true, BuildArgs: []string{"A=2"}, Platform: "linux/amd64",
	})
	if err != nil || res == nil {
		t.Fatalf("build: %v", err)
	}
	if rb.name != "docker" || rb.config["buildx"] != true || rb.config["context"] != "./app" {
		t.Errorf("builder %s config %v, want docker with buildx and context ./app", rb.name, rb.config)
	}
	r := rb.req
	if r.Target != nil || r.Project != "shop" || r.Platform != "linux/amd64" || !r.NoCache {
		t.Errorf("request: target %v project %q platform %q no-cache %v", r.Target, r.Project, r.Platform, r.NoCache)
	}
	want := map[string]string{"NODE_ENV": "production", "GIT_SHA": "abc123", "A": "2"}
	for k, v := range want {
		if r.BuildArgs[k] != v {
			t.Errorf("build arg %s = %q, want %q (all: %v)", k, r.BuildArgs[k], v, r.BuildArgs)
		}
	}
	// rise build shows which file won.
	warn.Reset()
	if _, err := Run(context.Background(), Options{Dir: dir, Launch: rb.launch, Warn: &warn, AppWarnings: true}, DiscardUI()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "rise.toml is used; .rise.toml in the same directory is ignored") {
		t.Errorf("warnings: %q", warn.String())
	}
}

// TestBuilderImage: --builder (the buildpacks builder image) configures
// pack and is refused for other builders.
func TestBuilderImage(t *testing.T) {
	dir := t.TempDir()
	rb := &recordingBuilder{}
	if _, err := Run(context.Background(), Options{Dir: dir, Backend: "pack", BuilderImage: "heroku/builder:24", Launch: rb.launch}, DiscardUI()); err != nil {
		t.Fatal(err)
	}
	if rb.name != "pack" || rb.config["builder"] != "heroku/builder:24" {
		t.Errorf("builder %s config %v", rb.name, rb.config)
	}
	_, err := Run(context.Background(), Options{Dir: dir, Backend: "docker", BuilderImage: "heroku/builder:24", Launch: rb.launch}, DiscardUI())
	if err == nil || !strings.Contains(err.Error(), "only applies to the pack builder") {
		t.Errorf("docker with a builder image: %v", err)
	}
}
