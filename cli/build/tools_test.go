package build

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestDetectStaticSiteFallback: a static site without a Dockerfile goes to
// pack when pack is installed and to the docker builder's generated
// Dockerfile when it is not; a Dockerfile wins either way.
func TestDetectStaticSiteFallback(t *testing.T) {
	installed := map[string]bool{}
	old := lookPath
	lookPath = func(p string) (string, error) {
		if installed[p] {
			return "/usr/bin/" + p, nil
		}
		return "", errors.New("not found")
	}
	t.Cleanup(func() { lookPath = old })

	site := writeFiles(t, map[string]string{"index.html": "<h1>hi</h1>"})
	choose := func(dir string) Backend {
		t.Helper()
		b, err := Choose(context.Background(), inProcess(nil), "", nil, dir)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := choose(site); b.Name != "docker" || b.Source != "auto-detected (static site (index.html, no Dockerfile))" {
		t.Errorf("no pack installed: got %s (%s), want docker's static site fallback", b.Name, b.Source)
	} else if b.Method() != "a generated Dockerfile (static site)" {
		t.Errorf("method %q", b.Method())
	}
	installed["pack"] = true
	if b := choose(site); b.Name != "pack" {
		t.Errorf("pack installed: got %s (%s), want pack", b.Name, b.Source)
	}
	installed["pack"] = false
	// Nothing runnable claims a Go app: pack is still chosen, and its build
	// says how to install it.
	if b := choose(writeFiles(t, map[string]string{"main.go": "package main"})); b.Name != "pack" || !strings.Contains(b.Source, "`pack` is not installed") {
		t.Errorf("go app without pack: got %s (%s)", b.Name, b.Source)
	}
	if b := choose(writeFiles(t, map[string]string{"index.html": "x", "Dockerfile": "FROM x"})); b.Name != "docker" || b.Source != "auto-detected (found Dockerfile)" {
		t.Errorf("Dockerfile: got %s (%s)", b.Name, b.Source)
	}
}
