package images

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSameRepository(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:5000/rise/app@sha256:" + strings.Repeat("a", 64), "127.0.0.1:5000/rise/app", true},
		{"127.0.0.1:5000/rise/app:v1", "127.0.0.1:5000/rise/app", true},
		{"localhost:5000/rise/app:v1", "127.0.0.1:5000/rise/app", false},
		{"127.0.0.1:5001/rise/app:v1", "127.0.0.1:5000/rise/app", false},
		{"127.0.0.1:5000/rise/app2:v1", "127.0.0.1:5000/rise/app", false},
		{"127.0.0.1:5000/rise/app/sub:v1", "127.0.0.1:5000/rise/app", false},
		{"nginx", "docker.io/library/nginx", true},
		{"not a ref", "not a ref", false},
	} {
		if got := SameRepository(c.a, c.b); got != c.want {
			t.Errorf("SameRepository(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	scheme, p := parseChallenge(`Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"`)
	if scheme != "Bearer" || p["realm"] != "https://auth.example.com/token" || p["service"] != "registry.example.com" || p["scope"] != "repository:a/b:pull" {
		t.Fatalf("%q %v", scheme, p)
	}
	if _, p := parseChallenge(`Bearer realm=x, service="y`); p["realm"] != "x" {
		t.Fatalf("%v", p)
	}
}

func TestParseRejects(t *testing.T) {
	for _, ref := range []string{"", "UPPER/case:v1", "a b", strings.Repeat("a", MaxRefLen+1), "x@sha256:short"} {
		if _, err := parse(ref); err == nil {
			t.Errorf("parse(%q) succeeded", ref)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	def := New(Options{})
	lan := New(Options{AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for host, want := range map[string][2]bool{
		"127.0.0.1:5000": {false, true}, "[::ffff:127.0.0.1]:5000": {false, true}, "localhost:5000": {false, true},
		"registry.localhost": {false, true}, "[::1]:5000": {false, false}, "10.0.0.1": {false, false},
		"169.254.169.254": {false, false}, "8.8.8.8:443": {true, true}, "ghcr.io": {true, true},
	} {
		if got := def.hostAllowed(host); got != want[0] {
			t.Errorf("default hostAllowed(%s) = %v", host, got)
		}
		if got := lan.hostAllowed(host); got != want[1] {
			t.Errorf("allow-list hostAllowed(%s) = %v", host, got)
		}
	}
}
