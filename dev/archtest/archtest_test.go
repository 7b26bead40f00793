package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// goList returns every package of the module with its module-internal
// imports (non-test).
func goList(t *testing.T, args ...string) []Package {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-json=ImportPath,Imports,Error"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, Module+"/")
		if !ok {
			continue
		}
		pkg := Package{Path: rel}
		for _, imp := range p.Imports {
			if r, ok := strings.CutPrefix(imp, Module+"/"); ok {
				pkg.Imports = append(pkg.Imports, r)
			}
		}
		pkgs = append(pkgs, pkg)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages of the module")
	}
	return pkgs
}

func TestImportDirection(t *testing.T) {
	// Every module of the workspace: ./... stops at nested modules (sdk/
	// and the example plugins are their own modules).
	for _, v := range Check(goList(t, "./...", "./sdk/...", "./examples/plugins/ecs/...", "./examples/plugins/exec/...", "./examples/plugins/tarball-builder/...")) {
		t.Error(v)
	}
}

// TestSDKDependsOnlyOnSDK checks the SDK's whole dependency closure, as a
// plugin author's build sees it: the sdk module on its own (no workspace).
func TestSDKDependsOnlyOnSDK(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{.ImportPath}}", "./...")
	cmd.Dir = "../../sdk"
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(dep, Module+"/"); ok && layer(rel) != "sdk" {
			t.Errorf("sdk/ depends on %s; plugin authors must get only sdk/", dep)
		}
	}
}

func TestCheckCatchesViolations(t *testing.T) {
	got := Check([]Package{
		{Path: "sdk", Imports: []string{"sdk/pluginpb", "core/config"}},
		{Path: "core/pluginhost", Imports: []string{"sdk", "core/config", "server/identity"}},
		{Path: "cli/plugincmd", Imports: []string{"core/pluginhost", "cli/output", "server/httpx"}},
		{Path: "server/api", Imports: []string{"core/api", "migrations", "cli"}},
		{Path: "plugins/runtime/docker", Imports: []string{"sdk", "plugins/runtime/docker/internal/x", "plugins/registry/docker"}},
		{Path: "examples/plugins/exec", Imports: []string{"sdk", "core/pluginhost"}},
		{Path: "cmd/rise", Imports: []string{"cli", "server", "plugins/runtime/docker", "dev/pgtest"}},
		{Path: "dev/pgtest", Imports: []string{"core/config", "server/store"}},
		{Path: "server/servertest", Imports: []string{"dev/pgtest", "server/store"}},
	})
	want := []string{
		"cli/plugincmd imports server/httpx: cli/ may import only core, sdk",
		"cmd/rise imports dev/pgtest: dev/ holds test and development helpers; only tests and *test helper packages may import it",
		"core/pluginhost imports server/identity: core/ may import only sdk",
		"examples/plugins/exec imports core/pluginhost: examples/ packages import only sdk/ (and their own subpackages)",
		"plugins/runtime/docker imports plugins/registry/docker: plugins/ packages import only sdk/ (and their own subpackages)",
		"sdk imports core/config: sdk/ imports nothing else of the module",
		"server/api imports cli: server/ may import only core, sdk, migrations",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Check:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
