package auth

import (
	"net/http"
	"net/netip"

	"github.com/riseplatform/rise/server/netguard"
)

// The SSRF guard lives in server/netguard; these are its call sites here.

// publicAddr reports whether ip is a publicly routable unicast address.
func publicAddr(ip netip.Addr) bool { return netguard.Public(ip) }

// guardedClient returns an HTTP client for fetching a trusted issuer's
// discovery document and JWKS. Unless allowPrivate, it refuses to connect
// to non-public addresses (see netguard.Client).
func guardedClient(allowPrivate bool) *http.Client {
	return netguard.Client(netguard.Options{AllowAll: allowPrivate})
}
