package netguard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
)

func TestAllowed(t *testing.T) {
	def := Options{}
	lan := Options{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}}
	for addr, want := range map[string][2]bool{ // default, with lan
		"8.8.8.8": {true, true}, "2606:4700:4700::1111": {true, true},
		"10.1.2.3": {false, true}, "127.0.0.1": {false, true}, "::ffff:127.0.0.1": {false, true},
		"127.0.0.2": {false, false}, "::1": {false, false}, "192.168.1.1": {false, false},
		"169.254.169.254": {false, false}, "fe80::1": {false, false}, "fd00::1": {false, false},
		"100.64.0.1": {false, false}, "0.0.0.0": {false, false}, "224.0.0.1": {false, false},
	} {
		ip := netip.MustParseAddr(addr)
		if got := def.Allowed(ip); got != want[0] {
			t.Errorf("default Allowed(%s) = %v", addr, got)
		}
		if got := lan.Allowed(ip); got != want[1] {
			t.Errorf("allow-list Allowed(%s) = %v", addr, got)
		}
	}
}

// TestClientRefusesLoopback: the listener gets no connection unless its
// network is allowed.
func TestClientRefusesLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	if _, err := Client(Options{}).Get(srv.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("default client: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("listener was reached %d times", n)
	}
	resp, err := Client(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed client: %v", err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Fatalf("hits = %d", n)
	}
}
