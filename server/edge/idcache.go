package edge

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/identity"
)

// maxIdentities bounds the identity cache; it is emptied when full.
const maxIdentities = 65536

// idCache remembers verified credentials (app session cookies, rise
// tokens) so that the edge does not verify a signature and look the user
// up in the database on every request.
type idCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]*idEntry
}

type idEntry struct {
	id      *identity.Identity
	checked time.Time // last successful verification
	exp     time.Time // the token's own expiry
}

func newIDCache(ttl time.Duration) *idCache {
	return &idCache{ttl: ttl, m: map[string]*idEntry{}}
}

// get returns the identity of credential key (token is the credential
// itself), verified by verify at most every ttl. A refused credential is
// forgotten; when verify fails otherwise (database down), a cached
// identity is used until its token expires (fail static).
func (c *idCache) get(key, token string, verify func() (*identity.Identity, error)) (*identity.Identity, error) {
	now := time.Now()
	c.mu.RLock()
	e := c.m[key]
	c.mu.RUnlock()
	if e != nil && now.Before(e.exp) && now.Sub(e.checked) < c.ttl {
		return e.id, nil
	}
	id, err := verify()
	switch {
	case err == nil && id != nil:
		exp := tokenExpiry(token)
		if exp.IsZero() {
			exp = now.Add(c.ttl)
		}
		c.mu.Lock()
		if len(c.m) >= maxIdentities {
			clear(c.m)
		}
		c.m[key] = &idEntry{id: id, checked: now, exp: exp}
		c.mu.Unlock()
		return id, nil
	case err == nil, errors.Is(err, auth.ErrInvalidCredentials):
		if e != nil {
			c.mu.Lock()
			delete(c.m, key)
			c.mu.Unlock()
		}
		return id, err
	case e != nil && now.Before(e.exp):
		return e.id, nil // fail static
	}
	return nil, err
}

// tokenExpiry is the exp claim of a JWT, unverified (zero if none): only
// used for a token whose exact bytes were verified before.
func tokenExpiry(token string) time.Time {
	var c struct {
		Exp int64 `json:"exp"`
	}
	if !jwtClaims(token, &c) || c.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(c.Exp, 0)
}

// riseToken reports whether an Authorization header carries a token rise
// issued (its unverified iss is rise's public URL): such a token never
// reaches an app, whatever the app's visibility.
func (h *Handler) riseToken(authz string) bool {
	if len(authz) < 7 || !strings.EqualFold(authz[:7], "bearer ") || h.issuer == "" {
		return false
	}
	var c struct {
		Iss string `json:"iss"`
	}
	return jwtClaims(strings.TrimSpace(authz[7:]), &c) && strings.TrimRight(c.Iss, "/") == h.issuer
}

// jwtClaims decodes the (unverified) claims of a compact JWS into v.
func jwtClaims(token string, v any) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	return err == nil && json.Unmarshal(raw, v) == nil
}
