package main

import (
	"testing"

	"github.com/riseplatform/rise/examples/plugins/ecs/ecsfake"
)

// fakeAWS is the ECS / CloudWatch Logs protocol fake for one test, with the
// process environment pointed at its static credentials.
type fakeAWS struct {
	*ecsfake.Server
	t *testing.T
}

func newFakeAWS(t *testing.T) *fakeAWS {
	s := ecsfake.Start()
	t.Cleanup(s.Close)
	// The SDK reads credentials from the environment; keep the host's AWS
	// config out of it (HOME stays: go build needs its cache).
	for k, v := range ecsfake.Env(t.TempDir()) {
		if k != "HOME" {
			t.Setenv(k, v)
		}
	}
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	return &fakeAWS{Server: s, t: t}
}

// last returns the last request body of op.
func (f *fakeAWS) last(op string) map[string]any {
	f.t.Helper()
	r := f.Last(op)
	if r == nil {
		f.t.Fatalf("no %s request", op)
	}
	return r
}
