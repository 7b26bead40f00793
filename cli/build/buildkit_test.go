package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDocker records docker invocations and answers `inspect` from state.
type fakeDocker struct {
	calls   []string
	inspect string // "" = no such container
}

func (f *fakeDocker) run(ctx context.Context, args ...string) (string, error) {
	f.calls = append(f.calls, strings.Join(args, " "))
	if args[0] == "inspect" {
		if f.inspect == "" {
			return "", errors.New("Error: No such object: rise-buildkit")
		}
		return f.inspect + "\n", nil
	}
	return "", nil
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestManagedBuildkitDecisions(t *testing.T) {
	cert := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const sum = "c5a8e1d1f9f4bcb5fb0ef5d9c0e1d1c8c1c6ba0c0ad2cbf0b8b3bd6b9c1a3f11" // not the real sum: forces recreate
	realSum := func() string {
		var o Options
		o.Getenv = envOf(map[string]string{"SSL_CERT_FILE": cert})
		d := &fakeDocker{}
		o.Docker, o.ManagedBuildkit = d.run, true
		_, _ = buildEnv(context.Background(), &o, Backend{Name: "railpack", Config: map[string]any{}})
		for _, c := range d.calls {
			if i := strings.Index(c, "rise.ssl-cert-sha256="); i >= 0 {
				return strings.Fields(c[i+len("rise.ssl-cert-sha256="):])[0]
			}
		}
		t.Fatal("no label in run args")
		return ""
	}()

	cases := []struct {
		name      string
		env       map[string]string
		flag      bool
		builder   string
		inspect   string
		wantCalls []string
		wantHost  string
		wantWarn  bool
	}{
		{"no cert: nothing", map[string]string{}, true, "railpack", "", nil, "", false},
		{"cert, disabled: warning", map[string]string{"SSL_CERT_FILE": cert}, false, "railpack", "", nil, "", true},
		{"cert, disabled, pack: no warning", map[string]string{"SSL_CERT_FILE": cert}, false, "pack", "", nil, "", false},
		{"cert, disabled, classic docker: no warning", map[string]string{"SSL_CERT_FILE": cert}, false, "docker", "", nil, "", false},
		{"cert, disabled, docker buildx: warning", map[string]string{"SSL_CERT_FILE": cert}, false, "docker:buildx", "", nil, "", true},
		{"env enables; none yet: create", map[string]string{"SSL_CERT_FILE": cert, "RISE_MANAGED_BUILDKIT": "true", "HTTPS_PROXY": "http://proxy:3128"}, false, "docker:buildx", "",
			[]string{"inspect", "run --platform linux/amd64 --privileged --name rise-buildkit --rm -d --label rise.ssl-cert-sha256=" + realSum +
				" --volume " + cert + ":/etc/ssl/certs/ca-certificates.crt:ro --env HTTPS_PROXY=http://proxy:3128 moby/buildkit:latest"},
			"docker-container://rise-buildkit", false},
		{"running with same cert: reuse", map[string]string{"SSL_CERT_FILE": cert}, true, "railpack", realSum + " true", []string{"inspect"}, "docker-container://rise-buildkit", false},
		{"stopped with same cert: start", map[string]string{"SSL_CERT_FILE": cert}, true, "railpack", realSum + " false", []string{"inspect", "start rise-buildkit"}, "docker-container://rise-buildkit", false},
		{"cert changed: recreate", map[string]string{"SSL_CERT_FILE": cert, "RISE_BUILDKIT_IMAGE": "localhost/buildkit:test"}, true, "railpack", sum + " true",
			[]string{"inspect", "rm --force rise-buildkit", "run"}, "docker-container://rise-buildkit", false},
	}
	for _, c := range cases {
		d := &fakeDocker{inspect: c.inspect}
		var warn strings.Builder
		o := Options{ManagedBuildkit: c.flag, Getenv: envOf(c.env), Docker: d.run, Warn: &warn}
		b, _ := ParseBackend(c.builder)
		env, err := buildEnv(context.Background(), &o, b)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if env["BUILDKIT_HOST"] != c.wantHost {
			t.Errorf("%s: BUILDKIT_HOST = %q", c.name, env["BUILDKIT_HOST"])
		}
		if (warn.String() == SSLWarning) != c.wantWarn {
			t.Errorf("%s: warning = %q", c.name, warn.String())
		}
		if len(d.calls) != len(c.wantCalls) {
			t.Errorf("%s: calls = %q, want %q", c.name, d.calls, c.wantCalls)
			continue
		}
		for i := range c.wantCalls {
			if !strings.HasPrefix(d.calls[i], c.wantCalls[i]) {
				t.Errorf("%s: call %d = %q, want %q", c.name, i, d.calls[i], c.wantCalls[i])
			}
		}
		if c.env["RISE_BUILDKIT_IMAGE"] != "" && !strings.HasSuffix(d.calls[len(d.calls)-1], " localhost/buildkit:test") {
			t.Errorf("%s: image override ignored: %q", c.name, d.calls)
		}
		if c.env["HTTPS_PROXY"] != "" && env["HTTPS_PROXY"] != c.env["HTTPS_PROXY"] {
			t.Errorf("%s: proxy not forwarded to the build: %v", c.name, env)
		}
	}
	if !strings.HasPrefix(SSLWarning, "Warning: SSL_CERT_FILE is set but managed BuildKit daemon is disabled.\n\nRailpack builds may fail") {
		t.Error("warning text drifted from the seed")
	}

	// An unreadable certificate is a clear error.
	o := Options{ManagedBuildkit: true, Getenv: envOf(map[string]string{"SSL_CERT_FILE": "/nonexistent/ca.pem"}), Docker: (&fakeDocker{}).run}
	if _, err := buildEnv(context.Background(), &o, Backend{Name: "railpack"}); err == nil || !strings.Contains(err.Error(), "SSL_CERT_FILE=/nonexistent/ca.pem cannot be read") {
		t.Errorf("unreadable cert: %v", err)
	}
}

func TestManagedBuildkitEnabled(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": true, "1": true, "YES": true, "false": false, "0": false} {
		if got := ManagedBuildkitEnabled(false, envOf(map[string]string{"RISE_MANAGED_BUILDKIT": v})); got != want {
			t.Errorf("RISE_MANAGED_BUILDKIT=%q: %v", v, got)
		}
	}
	if !ManagedBuildkitEnabled(true, envOf(nil)) {
		t.Error("flag ignored")
	}
}
