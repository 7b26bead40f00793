package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// csrfToken is the form token of a browser session: an HMAC of a fixed
// label keyed by the session cookie's value. Another site can neither read
// the cookie (HttpOnly, host-only) nor a page carrying the token (same-origin
// policy, frame-ancestors 'none'), so it cannot forge a form post; the token
// needs no server-side state (every replica computes the same), changes with
// every login and dies with the session. "" without a session cookie.
func csrfToken(c *http.Cookie) string {
	if c == nil || c.Value == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(c.Value))
	m.Write([]byte("rise dashboard form token v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
