package sdktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// RegistryConformanceConn runs the registry suite over any connection.
//
// It checks: config errors become diagnostics; push and pull credentials
// name a repository and do not expire in the past; cancelled calls return
// context.Canceled; the repository capability is idempotent (or absent with
// ErrUnsupported); the plugin never writes to stdout.
func RegistryConformanceConn(t *testing.T, conn Conn, component string, cfg any, opts ...Option) {
	t.Helper()
	s := newSuite(t, conn, sdk.KindRegistry, component, cfg, opts)
	reg := conn.Registry(component, s.cfg)

	s.run(t, CheckConfigDiagnostics, func(t violation) {
		s.checkConfigDiagnostics(t, func(ctx context.Context, bad []byte) error {
			_, err := conn.Registry(component, bad).Credentials(ctx, &sdk.CredentialsRequest{Project: s.o.project, Push: true})
			return err
		})
	})

	s.run(t, CheckRepository, func(t violation) {
		var err error
		for i := 0; i < 2; i++ {
			s.guard.do(t.T, func() { err = reg.EnsureRepository(s.ctx(t.T), s.o.project) })
			if errors.Is(err, sdk.ErrUnsupported) {
				t.Skip("registry has no repository capability")
			}
			if err != nil {
				t.Fatalf("EnsureRepository #%d (must be idempotent): %v", i+1, err)
			}
		}
	})

	for _, push := range []bool{true, false} {
		name := CheckCredentialsPull
		if push {
			name = CheckCredentialsPush
		}
		s.run(t, name, func(t violation) {
			var c *sdk.Credentials
			var err error
			s.guard.do(t.T, func() {
				c, err = reg.Credentials(s.ctx(t.T), &sdk.CredentialsRequest{Project: s.o.project, Push: push, TTL: 5 * time.Minute, Subject: "user:sdktest"})
			})
			if err != nil {
				t.Fatalf("Credentials(push=%v): %v", push, err)
			}
			if c.Repository == "" {
				t.Errorf("Credentials(push=%v) has no repository", push)
			}
			if !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(time.Now()) {
				t.Errorf("Credentials(push=%v) already expired at %s", push, c.ExpiresAt)
			}
			if s.o.credsCheck != nil {
				s.o.credsCheck(t.T, c)
			}
		})
	}

	s.run(t, CheckCancellation, func(t violation) {
		s.checkCancelled(t, func(ctx context.Context) error {
			_, err := reg.Credentials(ctx, &sdk.CredentialsRequest{Project: s.o.project, Push: true})
			return err
		})
	})

	s.run(t, CheckDeleteRepository, func(t violation) {
		var err error
		for i := 0; i < 2; i++ {
			s.guard.do(t.T, func() { err = reg.DeleteRepository(s.ctx(t.T), s.o.project) })
			if errors.Is(err, sdk.ErrUnsupported) {
				t.Skip("registry has no repository capability")
			}
			if err != nil {
				t.Fatalf("DeleteRepository #%d (must be idempotent): %v", i+1, err)
			}
		}
	})

	s.run(t, CheckNoStdout, func(t violation) { s.guard.check(t.T) })
}
