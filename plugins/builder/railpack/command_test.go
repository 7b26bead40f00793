package railpack

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCommandsGolden covers every combination of railpack's options:
// prepare (env + build args, build_cmd, start_cmd) and the BuildKit step
// (buildx/buildctl, frontend, platform, no-cache, push: none/loopback/remote).
func TestCommandsGolden(t *testing.T) {
	var out strings.Builder
	for mask := 0; mask < 1<<3; mask++ {
		on := func(i int) bool { return mask&(1<<i) != 0 }
		b := &Builder{}
		req := &sdk.BuildRequest{Dir: "/src"}
		if on(0) {
			b.Env = map[string]string{"NODE_ENV": "production", "SHARED": "config"}
			req.BuildArgs = map[string]string{"SHARED": "request"}
		}
		if on(1) {
			b.BuildCmd = "npm run build"
		}
		if on(2) {
			b.StartCmd = "node server.js"
		}
		fmt.Fprintf(&out, "prepare %03b: railpack %s\n", mask, strings.Join(b.prepareCommand(req, "/work"), " "))
	}
	for mask := 0; mask < 1<<4; mask++ {
		for _, target := range []string{"", "127.0.0.1:5000/rise/app:1", "registry.example.com/rise/app:1"} {
			on := func(i int) bool { return mask&(1<<i) != 0 }
			b := &Builder{Buildctl: on(0)}
			if on(1) {
				b.Frontend = "example.com/railpack-frontend:v1"
			}
			req := &sdk.BuildRequest{Dir: "/src", Image: "app:dev"}
			if on(2) {
				req.Platform = "linux/amd64"
			}
			if on(3) {
				req.NoCache = true
			}
			image, push := req.Image, target != ""
			if push {
				image = target
			}
			cli, argv := "docker", b.buildxCommand(req, image, push, "/work")
			if b.Buildctl {
				cli, argv = "buildctl", b.buildctlCommand(req, image, push, "/work")
			}
			fmt.Fprintf(&out, "build %04b %s: %s %s\n", mask, orDash(target), cli, strings.Join(argv, " "))
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

type nopUI struct{ out strings.Builder }

func (u *nopUI) Step(string) sdk.Step { return nopStep{u} }
func (u *nopUI) Logf(string, ...any)  {}

type nopStep struct{ u *nopUI }

func (s nopStep) Done()                       {}
func (s nopStep) Fail(err error) error        { return err }
func (s nopStep) Writer(sdk.Stream) io.Writer { return &s.u.out }

// Stand-ins for railpack and buildctl: a real railpack run downloads mise
// from GitHub at run time, which cannot happen here.
const (
	fakeRailpack = `#!/bin/sh
echo "$@" > "$RECORD/railpack.argv"
echo '{"steps":[]}' > "$4"
`
	fakeBuildctl = `#!/bin/sh
echo "$@" > "$RECORD/buildctl.argv"
echo "BUILDKIT_HOST=$BUILDKIT_HOST" > "$RECORD/buildctl.env"
cat "$DOCKER_CONFIG/config.json" > "$RECORD/config.json"
while [ $# -gt 0 ]; do
  if [ "$1" = --metadata-file ]; then echo '{"containerimage.digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}' > "$2"; fi
  shift
done
`
)

func TestBuildctlFlowWithStandInTools(t *testing.T) {
	bin, rec, src := t.TempDir(), t.TempDir(), t.TempDir()
	for name, script := range map[string]string{"railpack": fakeRailpack, "buildctl": fakeBuildctl} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := &Builder{Buildctl: true, lookPath: func(n string) (string, error) {
		p := filepath.Join(bin, n)
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
		return p, nil
	}}
	ui := &nopUI{}
	art, err := b.Build(context.Background(), &sdk.BuildRequest{
		Dir: src, Env: map[string]string{"RECORD": rec, "BUILDKIT_HOST": "docker-container://rise-buildkit"},
		Target: &sdk.PushTarget{Image: "127.0.0.1:5000/rise/app:1",
			Credentials: &sdk.Credentials{Registry: "127.0.0.1:5000", Username: "u", Password: "p"}},
	}, ui)
	if err != nil {
		t.Fatalf("%v\n%s", err, ui.out.String())
	}
	if !strings.HasPrefix(art.Digest, "sha256:aaaa") || art.Repository != "127.0.0.1:5000/rise/app" {
		t.Fatalf("artifact = %+v", art)
	}
	env, _ := os.ReadFile(filepath.Join(rec, "buildctl.env"))
	if !strings.Contains(string(env), "docker-container://rise-buildkit") {
		t.Errorf("BUILDKIT_HOST not passed: %s", env)
	}
	if cfg, _ := os.ReadFile(filepath.Join(rec, "config.json")); !strings.Contains(string(cfg), "127.0.0.1:5000") {
		t.Errorf("credentials not in DOCKER_CONFIG: %s", cfg)
	}

	// Missing tools are named with how to get them.
	b.lookPath = func(string) (string, error) { return "", os.ErrNotExist }
	_, err = b.Build(context.Background(), &sdk.BuildRequest{Dir: src, Image: "a:1"}, ui)
	if err == nil || !strings.Contains(err.Error(), "`railpack` was not found") || !strings.Contains(err.Error(), "railpack.com") {
		t.Fatalf("missing railpack: %v", err)
	}
}

func TestDetectAndValidate(t *testing.T) {
	dir := t.TempDir()
	if d, _ := new(Builder).Detect(context.Background(), dir); d.OK {
		t.Fatalf("empty dir detected: %+v", d)
	}
	_ = os.WriteFile(filepath.Join(dir, "railpack.json"), []byte("{}"), 0o644)
	if d, _ := new(Builder).Detect(context.Background(), dir); !d.OK || d.Confidence != 90 {
		t.Fatalf("railpack.json not detected: %+v", d)
	}
	if err := (&Builder{Buildctl: true, Buildx: true}).Validate(); err == nil {
		t.Fatal("buildctl+buildx accepted")
	}
}
