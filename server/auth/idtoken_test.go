package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riseplatform/rise/core/api"
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
			c["sub"] = "carol-subject"
			c["preferred_username"] = "carol"
			if mod != nil {
				mod(c)
			}
		})
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/code/exchange", nil)
	tr, err := e.s.loginWithIDToken(r, "oidc", p, op, idToken(nil), "n-123")
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
		"email_verified missing (provider not trusted for it)": {idToken(func(c map[string]any) { delete(c, "email_verified") }), "n-123"},
		"email_verified a string":                              {idToken(func(c map[string]any) { c["email_verified"] = "true" }), "n-123"},
		"no email":                                             {idToken(func(c map[string]any) { delete(c, "email") }), "n-123"},
		"wrong issuer":                                         {idToken(func(c map[string]any) { c["iss"] = "https://evil.example.com" }), "n-123"},
	} {
		if _, err := e.s.loginWithIDToken(r, "oidc", p, op, c.tok, c.nonce); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s: %v, want ErrInvalidCredentials", name, err)
		}
	}
}

// TestOIDCIdentityBinding: an account belongs to the (issuer, subject) that
// first logged in to it. Another identity with the same email — another
// user at the same IdP, or an IdP that lets users pick any email — does not
// get into it (nor its admin rights); the owner keeps getting in even when
// the IdP changes the email. A missing email_verified is unverified unless
// the provider is trusted for it, and then admin still needs the email.
func TestOIDCIdentityBinding(t *testing.T) {
	idp := newFakeIssuer(t, "")
	e := newEnv(t, &config.Auth{OIDC: []*config.OIDCProvider{
		{Name: "corp", Issuer: idp.srv.URL, ClientID: "rise-client", AdminEmails: []string{"boss@example.com"}},
	}})
	p := e.s.providers[0]
	op, err := p.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/code/exchange", nil)
	login := func(sub, email string, mod func(map[string]any)) (*api.TokenResponse, error) {
		return e.s.loginWithIDToken(r, "oidc", p, op, idp.token(func(c map[string]any) {
			c["aud"], c["sub"], c["email"], c["email_verified"] = "rise-client", sub, email, true
			if mod != nil {
				mod(c)
			}
		}), "")
	}
	boss, err := login("boss-sub", "boss@example.com", nil)
	if err != nil || !boss.User.Admin {
		t.Fatalf("first login: %+v %v", boss, err)
	}
	// Same email, another subject: refused, and no admin token.
	if tr, err := login("mallory-sub", "BOSS@example.com", nil); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("other subject with the account's email: %+v %v, want refused", tr, err)
	}
	// The bound subject gets in even after an email change at the IdP,
	// but is only admin for the configured (verified) email.
	tr, err := login("boss-sub", "boss@new.example.com", nil)
	if err != nil || tr.User.ID != boss.User.ID || tr.User.Admin {
		t.Fatalf("bound subject with a new email: %+v %v", tr, err)
	}
	if tr, err := login("boss-sub", "boss@example.com", nil); err != nil || !tr.User.Admin {
		t.Fatalf("bound subject back on its email: %+v %v", tr, err)
	}

	// An account made by a local login (no binding yet) is bound to the
	// first OIDC identity with its verified email; a second one is refused.
	if _, err := e.s.users.upsertUser(context.Background(), "dev@example.com", "dev", false); err != nil {
		t.Fatal(err)
	}
	if _, err := login("dev-sub", "dev@example.com", nil); err != nil {
		t.Fatalf("binding an unbound account: %v", err)
	}
	if _, err := login("dev-sub-2", "dev@example.com", nil); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("second identity for a bound account: %v", err)
	}

	// Missing email_verified: refused, unless the provider is trusted for it.
	noClaim := func(c map[string]any) { delete(c, "email_verified") }
	if _, err := login("new-sub", "boss2@example.com", noClaim); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("missing email_verified: %v", err)
	}
	p.cfg.TrustEmail = true
	p.cfg.AdminEmails = append(p.cfg.AdminEmails, "boss2@example.com")
	if tr, err := login("new-sub", "boss2@example.com", noClaim); err != nil || !tr.User.Admin {
		t.Errorf("missing email_verified with trust_email: %+v %v", tr, err)
	}
	if _, err := login("newer-sub", "x@example.com", func(c map[string]any) { c["email_verified"] = false }); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("email_verified=false with trust_email: %v", err)
	}
}
