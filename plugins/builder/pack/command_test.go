package pack

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCommandGolden covers every combination of pack's options: builder,
// buildpacks, env + build args, platform, pull policy, trust, no-cache and
// push (none, loopback registry, remote registry).
func TestCommandGolden(t *testing.T) {
	var out strings.Builder
	for mask := 0; mask < 1<<7; mask++ {
		for _, target := range []string{"", "127.0.0.1:5000/rise/app:1", "registry.example.com/rise/app:1"} {
			on := func(i int) bool { return mask&(1<<i) != 0 }
			b := &Builder{}
			req := &sdk.BuildRequest{Dir: "/src", Image: "app:dev"}
			if on(0) {
				b.Builder = "example/builder:tiny"
			}
			if on(1) {
				b.Buildpacks = []string{"paketo-buildpacks/go", "example/extra@1.0"}
			}
			if on(2) {
				b.Env = map[string]string{"BP_GO_VERSION": "1.22", "SHARED": "config"}
				req.BuildArgs = map[string]string{"SHARED": "request", "NODE_ENV": "production"}
			}
			if on(3) {
				req.Platform = "linux/arm64"
			}
			if on(4) {
				b.PullPolicy = "never"
			}
			if on(5) {
				b.TrustBuilder = true
			}
			if on(6) {
				req.NoCache = true
			}
			image := req.Image
			if target != "" {
				image = target
			}
			fmt.Fprintf(&out, "%07b %-32s pack %s\n", mask, orDash(target), strings.Join(b.command(req, image, target != ""), " "))
		}
	}
	golden(t, "testdata/commands.golden", out.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test -update and review the diff)", path)
	}
}

func TestMissingPackAndValidate(t *testing.T) {
	b := &Builder{lookPath: func(string) (string, error) { return "", os.ErrNotExist }}
	_, err := b.Build(context.Background(), &sdk.BuildRequest{Dir: t.TempDir(), Image: "a:1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "`pack` was not found") || !strings.Contains(err.Error(), "buildpacks.io") || !sdk.IsPermanent(err) {
		t.Fatalf("missing pack: %v", err)
	}
	if err := (&Builder{PullPolicy: "sometimes"}).Validate(); err == nil {
		t.Fatal("bad pull policy accepted")
	}
	d, _ := new(Builder).Detect(context.Background(), t.TempDir())
	if !d.OK || d.Confidence != 10 {
		t.Fatalf("Detect = %+v", d)
	}
}
