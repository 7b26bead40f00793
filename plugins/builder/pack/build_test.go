package pack

import (
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

type nopUI struct{ out strings.Builder }

func (u *nopUI) Step(string) sdk.Step { return nopStep{u} }
func (u *nopUI) Logf(string, ...any)  {}

type nopStep struct{ u *nopUI }

func (s nopStep) Done()                       {}
func (s nopStep) Fail(err error) error        { return err }
func (s nopStep) Writer(sdk.Stream) io.Writer { return &s.u.out }

// fakePack is a stand-in `pack` (a real pack build needs builder images from
// Docker Hub, which cannot be pulled here): it records its argv and the
// DOCKER_CONFIG it was given, and prints what pack prints on publish.
const fakePack = `#!/bin/sh
echo "$@" > "$RECORD/argv"
cat "$DOCKER_CONFIG/config.json" > "$RECORD/config.json" 2>/dev/null
echo "*** Digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
`

func TestBuildRunsPackWithTemporaryCredentials(t *testing.T) {
	bin, rec := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "pack"), []byte(fakePack), 0o755); err != nil {
		t.Fatal(err)
	}
	b := &Builder{Buildpacks: []string{"bp/one"}, lookPath: func(string) (string, error) { return filepath.Join(bin, "pack"), nil }}
	creds := &sdk.Credentials{Registry: "127.0.0.1:5000", Username: "rise-app", Password: "s3cret"}
	ui := &nopUI{}
	src := t.TempDir()
	art, err := b.Build(context.Background(), &sdk.BuildRequest{
		Dir: src, Image: "app:dev", Env: map[string]string{"RECORD": rec},
		Target: &sdk.PushTarget{Image: "127.0.0.1:5000/rise/app:1", Credentials: creds},
	}, ui)
	if err != nil {
		t.Fatalf("%v\n%s", err, ui.out.String())
	}
	if art.Digest != "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" || art.Repository != "127.0.0.1:5000/rise/app" || art.Tag != "1" {
		t.Fatalf("artifact = %+v", art)
	}
	argv, _ := os.ReadFile(filepath.Join(rec, "argv"))
	if !strings.Contains(string(argv), "build 127.0.0.1:5000/rise/app:1 --path "+src) || !strings.Contains(string(argv), "--publish") {
		t.Errorf("argv = %s", argv)
	}
	cfg, _ := os.ReadFile(filepath.Join(rec, "config.json"))
	if !strings.Contains(string(cfg), base64.StdEncoding.EncodeToString([]byte("rise-app:s3cret"))) {
		t.Errorf("DOCKER_CONFIG lacks the credentials: %s", cfg)
	}
}
