package images

import (
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
