package config

import "testing"

func TestCheckDomain(t *testing.T) {
	for _, ok := range []string{"localhost", "apps.example.com", "localhost:3000", "rise.dev:8443"} {
		if msg := checkDomain(ok); msg != "" {
			t.Errorf("checkDomain(%q) = %q, want ok", ok, msg)
		}
	}
	for _, bad := range []string{"", "Apps.example.com", "-x.dev", "localhost:0", "localhost:99999", "localhost:http", "a..b"} {
		if msg := checkDomain(bad); msg == "" {
			t.Errorf("checkDomain(%q) accepted", bad)
		}
	}
}
