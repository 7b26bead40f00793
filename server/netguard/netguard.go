// Package netguard is rise's one SSRF guard: an HTTP client for URLs that
// come from configuration or user input (a trusted issuer's discovery
// document, an external image registry) that refuses to connect to
// loopback, private, link-local and other non-public addresses unless the
// operator allowed them.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when the guard refuses a
// connection.
var ErrForbiddenAddress = errors.New("address is not allowed (loopback, private, link-local or otherwise non-public)")

// cgnat is the shared address space (RFC 6598), not publicly routable.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Public reports whether ip is a publicly routable unicast address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() &&
		!ip.IsLinkLocalUnicast() && !cgnat.Contains(ip) && !ip.IsUnspecified()
}

// Options configure a guarded client.
type Options struct {
	// AllowAll turns the guard off (any address may be dialled).
	AllowAll bool
	// Allow lists non-public networks that may be dialled anyway, e.g.
	// 10.0.0.0/8 for a registry on the internal network.
	Allow []netip.Prefix
	// Timeout bounds a whole request (default 20s).
	Timeout time.Duration
}

// Allowed reports whether o permits dialling ip.
func (o Options) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if o.AllowAll || Public(ip) {
		return true
	}
	for _, p := range o.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Client returns an HTTP client that refuses to connect to addresses o does
// not allow. The check runs on the address actually dialled (after DNS
// resolution, for every redirect), so DNS rebinding cannot bypass it;
// proxies are disabled for the same reason. At most 3 redirects are
// followed.
func Client(o Options) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !o.AllowAll {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !o.Allowed(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
			}
			return nil
		}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}
