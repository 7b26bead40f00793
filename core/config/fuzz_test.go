package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to every parser: they must never panic,
// and an error must always come with a source position in the file.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.*")
	for _, p := range files {
		if filepath.Ext(p) == ".golden" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		_, d1 := ParseAppTOML(src, "rise.toml")
		_, d2 := ParseApp(src, "rise.hcl")
		_, d3 := ParseServer(src, "server.hcl")
		for _, d := range append(append(d1, d2...), d3...) {
			if d.Subject != nil && (d.Subject.Start.Byte > len(src) || d.Subject.End.Byte > len(src) || d.Subject.Start.Byte > d.Subject.End.Byte) {
				t.Fatalf("diagnostic %q has range %v outside the %d-byte source", d.Summary, d.Subject, len(src))
			}
		}
	})
}
