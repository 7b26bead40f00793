package sdk_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// dirBuilder "builds" a directory with a Dockerfile into an artifact whose
// digest is the hash of the Dockerfile.
type dirBuilder struct {
	Registry string `hcl:"registry,optional"`
}

func (b *dirBuilder) Detect(_ context.Context, dir string) (*sdk.Detection, error) {
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		return &sdk.Detection{Reason: "no Dockerfile"}, nil
	}
	return &sdk.Detection{OK: true, Confidence: 100, Reason: "found Dockerfile"}, nil
}

func (b *dirBuilder) Build(ctx context.Context, req *sdk.BuildRequest, ui sdk.UI) (*sdk.Artifact, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	step := ui.Step("Reading Dockerfile")
	data, err := os.ReadFile(filepath.Join(req.Dir, "Dockerfile"))
	if err != nil {
		return nil, step.Fail(sdk.Permanent(fmt.Errorf("read Dockerfile: %w", err)))
	}
	fmt.Fprintf(step.Writer(sdk.Stdout), "%d bytes\n", len(data))
	step.Done()
	repo, tag, _ := strings.Cut(req.Image, ":")
	return &sdk.Artifact{Repository: repo, Tag: tag, Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(data)), Local: true}, nil
}

func TestBuilderConformance(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sdktest.BuilderConformance(t, sdk.Component{Name: "dir", New: func() any { return &dirBuilder{} }}, nil, sdktest.WithBuildDir(dir, nil))
}

// badRuntime breaks the rules: it prints to stdout, its second Deploy of
// an id fails, and Stop leaves it running (kit_test.go has the kit's table
// of broken runtimes; this one carries lazyRuntime and badRollback).
type badRuntime struct{}

var badSeen sync.Map

func (badRuntime) Deploy(_ context.Context, req *sdk.DeployRequest, _ sdk.UI) (*sdk.Deployment, error) {
	fmt.Println("deploying", req.DeploymentID)
	if _, dup := badSeen.LoadOrStore(req.DeploymentID, true); dup {
		return nil, errors.New("already exists")
	}
	return &sdk.Deployment{ID: req.DeploymentID, State: []byte("{}")}, nil
}

func (badRuntime) Status(context.Context, *sdk.Deployment) (*sdk.Status, error) {
	return &sdk.Status{Health: sdk.HealthHealthy}, nil
}

func (badRuntime) Stop(context.Context, *sdk.Deployment, sdk.UI) error { return nil }

// lazyRuntime's Validate relies on a default that only Provision sets, and
// records what it parsed: both break the lifecycle contract.
type lazyRuntime struct {
	badRuntime
	Timeout string `hcl:"timeout,optional"`
	timeout time.Duration
}

func (r *lazyRuntime) Provision(context.Context) error {
	if r.Timeout == "" {
		r.Timeout = "5s"
	}
	return nil
}

func (r *lazyRuntime) Validate() error {
	d, err := time.ParseDuration(r.Timeout)
	if err != nil {
		return fmt.Errorf("timeout: %w", err)
	}
	r.timeout = d
	return nil
}

// TestConformanceCatchesImpureValidate: the suite's Lifecycle check fails a
// Validate that needs Provision's defaults, and one that changes the value.
func TestConformanceCatchesImpureValidate(t *testing.T) {
	if cfg := os.Getenv("SDKTEST_LAZY_RUNTIME"); cfg != "" {
		sdktest.RuntimeConformance(t, sdk.Component{Name: "lazy", New: func() any { return &lazyRuntime{} }}, cfg,
			sdktest.WithTimeout(300*time.Millisecond))
		return
	}
	for cfg, want := range map[string]string{
		`{}`:               "Validate rejected the valid config before Provision",
		`{"timeout":"1s"}`: "Validate changed the component value",
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceCatchesImpureValidate$", "-test.v")
		cmd.Env = append(os.Environ(), "SDKTEST_LAZY_RUNTIME="+cfg)
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "--- FAIL: TestConformanceCatchesImpureValidate/Lifecycle") || !strings.Contains(string(out), want) {
			t.Errorf("config %s: suite output lacks a Lifecycle failure %q:\n%s", cfg, want, out)
		}
	}
}
