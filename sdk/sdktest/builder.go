package sdktest

import (
	"context"
	"fmt"
	"testing"

	"github.com/riseplatform/rise/sdk"
)

// BuilderConformanceConn runs the builder suite over any connection.
//
// It checks: config errors become diagnostics; Detect answers for an empty
// directory without error; a cancelled Build returns context.Canceled; and,
// with WithBuildDir, Detect says OK for the directory and Build produces an
// artifact; the plugin never writes to stdout.
func BuilderConformanceConn(t *testing.T, conn Conn, component string, cfg any, opts ...Option) {
	t.Helper()
	s := newSuite(t, conn, sdk.KindBuilder, component, cfg, opts)
	b := conn.Builder(component, s.cfg)

	s.run(t, CheckConfigDiagnostics, func(t violation) {
		s.checkConfigDiagnostics(t, func(ctx context.Context, bad []byte) error {
			_, err := conn.Builder(component, bad).Detect(ctx, t.TempDir())
			return err
		})
	})

	s.run(t, CheckDetectEmpty, func(t violation) {
		var d *sdk.Detection
		var err error
		s.guard.do(t.T, func() { d, err = b.Detect(s.ctx(t.T), t.TempDir()) })
		if err != nil {
			t.Fatalf("Detect(empty dir): %v", err)
		}
		t.Logf("Detect(empty dir) = %+v", *d)
	})

	s.run(t, CheckCancellation, func(t violation) {
		dir := s.o.buildDir
		if dir == "" {
			dir = t.TempDir()
		}
		s.checkCancelled(t, func(ctx context.Context) error {
			_, err := b.Build(ctx, s.buildRequest(dir, 0), nil)
			return err
		})
	})

	s.run(t, CheckBuild, func(t violation) {
		if s.o.buildDir == "" {
			t.Skip("no build directory given (sdktest.WithBuildDir)")
		}
		var d *sdk.Detection
		var err error
		s.guard.do(t.T, func() { d, err = b.Detect(s.ctx(t.T), s.o.buildDir) })
		if err != nil || !d.OK {
			t.Fatalf("Detect(%s) = %+v, %v; want OK", s.o.buildDir, d, err)
		}
		ui := &RecordingUI{}
		var a *sdk.Artifact
		s.guard.do(t.T, func() { a, err = b.Build(s.ctx(t.T), s.buildRequest(s.o.buildDir, 1), ui) })
		if err != nil {
			t.Fatalf("Build(%s): %v", s.o.buildDir, err)
		}
		if a.Repository == "" {
			t.Errorf("Build returned an artifact without a repository: %+v", *a)
		}
		t.Logf("artifact %s; UI events: %d", a.Ref(), len(ui.Events()))
	})

	s.run(t, CheckNoStdout, func(t violation) { s.guard.check(t.T) })
}

func (s *suite) buildRequest(dir string, n int) *sdk.BuildRequest {
	if s.o.buildReq != nil {
		return s.o.buildReq(dir)
	}
	return &sdk.BuildRequest{Project: s.o.project, Dir: dir, Image: fmt.Sprintf("localhost/sdktest/%s:%d", s.o.project, n)}
}
