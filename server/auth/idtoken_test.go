package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riseplatform/rise/core/config"
)

// TestIDTokenChecks covers the ID-token checks of the OIDC login that a real
// Dex never gets wrong: nonce, audience, unverified email. The IdP is an
// issuer with a key the test generated.
func TestIDTokenChecks(t *testing.T) {
	idp := newFakeIssuer(t, "")
	e := newEnv(t, &config.Auth{OIDC: []*config.OIDCProvider{{Name: "corp", Issuer: idp.srv.URL, ClientID: "rise-client"}}})
	p := e.s.providers[0]
	op, err := p.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	idToken := func(mod func(map[string]any)) string {
		return idp.token(func(c map[string]any) {
			c["aud"] = "rise-client"
			c["nonce"] = "n-123"
			c["email"] = "carol@example.com"
			c["email_verified"] = true
			c["preferred_username"] = "carol"
			if mod != nil {
				mod(c)
			}
		})
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/code/exchange", nil)
	tr, err := e.s.loginWithIDToken(r, p, op, idToken(nil), "n-123")
	if err != nil || tr.User.Email != "carol@example.com" || tr.User.Name != "carol" {
		t.Fatalf("valid ID token: %+v %v", tr, err)
	}
	for name, c := range map[string]struct {
		tok, nonce string
	}{
		"nonce mismatch":   {idToken(nil), "n-456"},
		"nonce missing":    {idToken(func(c map[string]any) { delete(c, "nonce") }), "n-123"},
		"wrong audience":   {idToken(func(c map[string]any) { c["aud"] = "other-client" }), "n-123"},
		"unverified email": {idToken(func(c map[string]any) { c["email_verified"] = false }), "n-123"},
		"no email":         {idToken(func(c map[string]any) { delete(c, "email") }), "n-123"},
		"wrong issuer":     {idToken(func(c map[string]any) { c["iss"] = "https://evil.example.com" }), "n-123"},
	} {
		if _, err := e.s.loginWithIDToken(r, p, op, c.tok, c.nonce); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s: %v, want ErrInvalidCredentials", name, err)
		}
	}
}
