package edge

import (
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/identity"
)

func fakeJWT(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(claims)) + ".sig"
}

func TestIDCache(t *testing.T) {
	c := newIDCache(50 * time.Millisecond)
	alice := &identity.Identity{UserID: "u1", Name: "alice"}
	tok := fakeJWT(fmt.Sprintf(`{"exp":%d}`, time.Now().Add(time.Hour).Unix()))
	calls := 0
	verify := func(id *identity.Identity, err error) func() (*identity.Identity, error) {
		return func() (*identity.Identity, error) { calls++; return id, err }
	}
	if id, err := c.get("k", tok, verify(alice, nil)); id != alice || err != nil {
		t.Fatalf("first: %v %v", id, err)
	}
	if id, _ := c.get("k", tok, verify(nil, errors.New("must not be called"))); id != alice || calls != 1 {
		t.Fatalf("cached: %v, %d calls", id, calls)
	}
	time.Sleep(60 * time.Millisecond)
	// Database down: the verified identity stays (fail static).
	if id, err := c.get("k", tok, verify(nil, errors.New("connection refused"))); id != alice || err != nil {
		t.Fatalf("fail static: %v %v", id, err)
	}
	// Refused (e.g. the user was deleted): forgotten at once.
	if id, err := c.get("k", tok, verify(nil, auth.ErrInvalidCredentials)); id != nil || !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("refused: %v %v", id, err)
	}
	if _, err := c.get("k", tok, verify(nil, errors.New("down"))); err == nil {
		t.Fatal("a refused credential was served from the cache")
	}
	// An expired token is never served from the cache, even when the database is down.
	old := fakeJWT(fmt.Sprintf(`{"exp":%d}`, time.Now().Add(30*time.Millisecond).Unix()))
	c.get("o", old, verify(alice, nil))
	time.Sleep(1100 * time.Millisecond)
	if id, err := c.get("o", old, verify(nil, errors.New("down"))); id != nil || err == nil {
		t.Fatalf("expired token: %v %v", id, err)
	}
}

func TestRiseToken(t *testing.T) {
	h := &Handler{issuer: "https://rise.test"}
	for authz, want := range map[string]bool{
		"Bearer " + fakeJWT(`{"iss":"https://rise.test"}`):      true,
		"bearer  " + fakeJWT(`{"iss":"https://rise.test/"}`):    true,
		"Bearer " + fakeJWT(`{"iss":"https://gitlab.test"}`):    false,
		"Basic " + fakeJWT(`{"iss":"https://rise.test"}`):       false,
		"Bearer opaque-app-token":                               false,
		"Bearer " + fakeJWT(`{"iss":"https://rise.test.evil"}`): false,
		"": false,
	} {
		if got := h.riseToken(authz); got != want {
			t.Errorf("riseToken(%.40q) = %v, want %v", authz, got, want)
		}
	}
}
