package docker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/sdk"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDetectStaticSite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		files      map[string]string
		ok         bool
		confidence int
		reason     string
	}{
		{map[string]string{"index.html": "hi"}, true, staticConfidence, "static site (index.html, no Dockerfile)"},
		{map[string]string{"public/index.html": "hi", "package.json": "{}"}, true, staticConfidence, "static site (public/index.html, no Dockerfile)"},
		{map[string]string{"index.html": "hi", "Dockerfile": "FROM scratch\n"}, true, 100, "found Dockerfile"},
		{map[string]string{"docs/index.html": "hi"}, false, 0, "no Dockerfile, Containerfile or index.html"},
	} {
		d, err := new(Builder).Detect(ctx, writeTree(t, tc.files))
		if err != nil || d.OK != tc.ok || d.Confidence != tc.confidence || d.Reason != tc.reason {
			t.Errorf("%v: got %+v (%v), want ok=%v confidence=%d reason %q", tc.files, d, err, tc.ok, tc.confidence, tc.reason)
		}
	}
	// A configured dockerfile that is missing is not rescued by index.html.
	d, _ := (&Builder{Dockerfile: "web.Dockerfile"}).Detect(ctx, writeTree(t, map[string]string{"index.html": "hi"}))
	if d.OK {
		t.Errorf("configured dockerfile missing, detected anyway: %+v", d)
	}
	if staticConfidence >= 10 {
		t.Errorf("static confidence %d must stay below pack's fallback (10)", staticConfidence)
	}
}

func TestStaticContext(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.html": "<h1>hi</h1>", "css/site.css": "body{}", "rise.hcl": "project = \"x\"\n",
		".rise.toml": "project = \"x\"\n", ".git/config": "[core]", "css/.hidden": "x", "node_modules/a/b.js": "x",
	})
	if err := os.Symlink("index.html", filepath.Join(dir, "home.html")); err != nil {
		t.Fatal(err)
	}
	b := &Builder{BaseImage: "registry.example.com/busybox:1"}
	out, err := b.staticContext(dir, ".", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	df, _ := os.ReadFile(filepath.Join(out, "Dockerfile"))
	for _, want := range []string{"ARG BASE_IMAGE=registry.example.com/busybox:1\n", "FROM ${BASE_IMAGE}\n", "COPY site/ /var/www/\n",
		`CMD ["httpd", "-f", "-p", "8080", "-h", "/var/www"]`} {
		if !strings.Contains(string(df), want) {
			t.Errorf("generated Dockerfile lacks %q:\n%s", want, df)
		}
	}
	var got []string
	_ = filepath.Walk(filepath.Join(out, "site"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(out, "site"), p)
			got = append(got, rel)
		}
		return nil
	})
	if want := "css/site.css home.html index.html"; strings.Join(got, " ") != want {
		t.Errorf("site files %v, want %s", got, want)
	}
	if l, err := os.Readlink(filepath.Join(out, "site", "home.html")); err != nil || l != "index.html" {
		t.Errorf("symlink: %q %v", l, err)
	}
	// Without base_image the documented default is the base, whatever
	// images the engine has.
	if got := new(Builder).staticBase(); got != DefaultStaticBase {
		t.Errorf("default base = %q", got)
	}
}

// TestBuildStaticSite builds a public/ site with the real Docker Engine and
// checks what the image serves.
func TestBuildStaticSite(t *testing.T) {
	base := baseimage.Require(t, "docker")
	dir := writeTree(t, map[string]string{"public/index.html": "static hello\n", "public/.env": "SECRET=1", "rise.hcl": "project = \"site\"\n"})
	tag := fmt.Sprintf("rise-static-test:%d", time.Now().UnixNano())
	removeImage(t, "docker", tag)
	ui := &recUI{}
	art, err := (&Builder{BaseImage: base}).Build(context.Background(), &sdk.BuildRequest{Dir: dir, Image: tag}, ui)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, ui.output())
	}
	if !art.Local || art.Repository+":"+art.Tag != tag {
		t.Errorf("artifact %+v", art)
	}
	if len(ui.steps) != 1 || ui.steps[0] != "Building image '"+tag+"' with docker build (static site, generated Dockerfile)" {
		t.Errorf("steps %q", ui.steps)
	}
	out, err := exec.Command("docker", "run", "--rm", tag, "ls", "-A", "/var/www").CombinedOutput()
	if err != nil || strings.Fields(string(out))[0] != "index.html" || len(strings.Fields(string(out))) != 1 {
		t.Errorf("/var/www in the image: %q %v", out, err)
	}
	out, err = exec.Command("docker", "image", "inspect", "--format", "{{json .Config.Cmd}} {{json .Config.ExposedPorts}}", tag).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `["httpd","-f","-p","8080","-h","/var/www"]`) || !strings.Contains(string(out), "8080/tcp") {
		t.Errorf("image config: %s %v", out, err)
	}
}
