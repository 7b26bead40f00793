package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/riseplatform/rise/core/config"
)

func b64(v any) string {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	default:
		b, _ = json.Marshal(v)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// rawJWT builds header.payload.signature with sign(signingInput).
func rawJWT(header, payload map[string]any, sign func([]byte) []byte) string {
	in := b64(header) + "." + b64(payload)
	return in + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(in)))
}

func rsaSign(k *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func hs256(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

// TestRiseTokenAttacks runs every forged or invalid rise token against a
// server whose signing key is RSA, so the classic HS256 key confusion (HMAC
// keyed with the published RSA public key) is tried for real.
func TestRiseTokenAttacks(t *testing.T) {
	keyFile, key := writeRSAKey(t)
	e := newEnv(t, &config.Auth{SigningKeyFile: keyFile})
	u, err := e.s.users.upsertUser(context.Background(), "alice@example.com", "Alice", false)
	if err != nil {
		t.Fatal(err)
	}
	good, _, err := e.s.issue(u)
	if err != nil {
		t.Fatal(err)
	}
	if code, id := e.whoami(good); code != http.StatusOK || id.UserID != u.ID || id.Email != "alice@example.com" {
		t.Fatalf("valid token: %d %+v", code, id)
	}

	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": e.s.issuer, "sub": u.ID, "aud": []string{TokenAudience},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": u.Email, "name": u.Name,
			"jti": "hand-built-1",
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	hdr := map[string]any{"alg": "RS256", "typ": "JWT", "kid": e.s.key.kid}
	// The forged tokens below are signed correctly with the real key except
	// for the one property under test.
	sign := rsaSign(key)
	if code, _ := e.whoami(rawJWT(hdr, claims(nil), sign)); code != http.StatusOK {
		t.Fatalf("control token (hand-built, valid) refused: %d", code)
	}

	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	parts := strings.Split(good, ".")
	var payload map[string]any
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(pb, &payload)
	payload["admin"] = true

	cases := map[string]string{
		"alg=none": b64(map[string]any{"alg": "none", "typ": "JWT", "kid": e.s.key.kid}) + "." + b64(claims(nil)) + ".",
		"HS256 keyed with the RSA public key (PEM)": rawJWT(map[string]any{"alg": "HS256", "typ": "JWT", "kid": e.s.key.kid}, claims(nil), hs256(pubPEM)),
		"HS256 keyed with the RSA public key (DER)": rawJWT(map[string]any{"alg": "HS256", "typ": "JWT", "kid": e.s.key.kid}, claims(nil), hs256(pubDER)),
		"wrong issuer":                       rawJWT(hdr, claims(func(c map[string]any) { c["iss"] = "https://evil.example.com" }), sign),
		"issuer of a trusted-looking URL":    rawJWT(hdr, claims(func(c map[string]any) { c["iss"] = e.s.issuer + "/" }), sign),
		"wrong audience":                     rawJWT(hdr, claims(func(c map[string]any) { c["aud"] = []string{"registry"} }), sign),
		"expired":                            rawJWT(hdr, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), sign),
		"not yet valid":                      rawJWT(hdr, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), sign),
		"no expiry":                          rawJWT(hdr, claims(func(c map[string]any) { delete(c, "exp") }), sign),
		"unknown kid":                        rawJWT(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "not-our-key"}, claims(nil), sign),
		"signed by another key with our kid": rawJWT(hdr, claims(nil), rsaSign(otherKey)),
		"tampered payload":                   parts[0] + "." + b64(payload) + "." + parts[2],
		"truncated":                          parts[0] + "." + parts[1],
		"garbage":                            "not-a-jwt",
		"unknown user":                       rawJWT(hdr, claims(func(c map[string]any) { c["sub"] = "00000000-0000-0000-0000-000000000000" }), sign),
		"no jti (cannot be revoked)":         rawJWT(hdr, claims(func(c map[string]any) { delete(c, "jti") }), sign),
		"no iat":                             rawJWT(hdr, claims(func(c map[string]any) { delete(c, "iat") }), sign),
		"an app audience besides rise":       rawJWT(hdr, claims(func(c map[string]any) { c["aud"] = []string{TokenAudience, "rise-app:shop.localhost"} }), sign),
		"app session audience":               rawJWT(hdr, claims(func(c map[string]any) { c["aud"] = []string{"rise-app:shop.localhost"} }), sign),
		"ticket audience":                    rawJWT(hdr, claims(func(c map[string]any) { c["aud"] = []string{"rise-ticket:shop.localhost"} }), sign),
	}
	for name, tok := range cases {
		e.expectRefused(name, tok)
	}
	// The log says why; the response never does.
	logs := e.logs.String()
	for _, want := range []string{"unknown key id", "not trusted", "signature", "claims"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}

	// Expiry by the server's clock: the good token dies after its lifetime.
	e.setNow(time.Now().Add(DefaultTokenTTL + time.Minute))
	e.expectRefused("expired by clock", good)
}

// TestSigningKeyGeneratedAndPublished checks the generated key is persisted
// 0600 and reused, and that rise tokens verify with go-oidc against the
// server's own discovery document and JWKS (what other services do).
func TestSigningKeyGeneratedAndPublished(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, nil, func(o *Options) { o.DataDir = dir })
	fi, err := os.Stat(filepath.Join(dir, generatedKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	if e.s.key.alg != jose.ES256 {
		t.Errorf("generated key alg %s, want ES256", e.s.key.alg)
	}
	k2, generated, err := loadSigningKey("", dir)
	if err != nil || generated || k2.kid != e.s.key.kid {
		t.Fatalf("reload: generated=%v kid %s vs %s err %v", generated, k2.kid, e.s.key.kid, err)
	}

	u, _ := e.s.users.upsertUser(context.Background(), "bob@example.com", "", true)
	tok, exp, err := e.s.issue(u)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < DefaultTokenTTL-time.Minute || d > DefaultTokenTTL+time.Minute {
		t.Errorf("expiry in %s, want %s", d, DefaultTokenTTL)
	}
	ctx := context.Background()
	op, err := oidc.NewProvider(ctx, e.s.issuer)
	if err != nil {
		t.Fatalf("discovery of the rise issuer: %v", err)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: TokenAudience}).Verify(ctx, tok)
	if err != nil {
		t.Fatalf("go-oidc verify of a rise token: %v", err)
	}
	var c struct {
		Email string `json:"email"`
		Admin bool   `json:"admin"`
	}
	_ = idt.Claims(&c)
	if idt.Subject != u.ID || c.Email != "bob@example.com" || !c.Admin {
		t.Errorf("claims: sub %s %+v", idt.Subject, c)
	}
	// A kid that a non-rise key would have.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := op.Verifier(&oidc.Config{ClientID: TokenAudience}).Verify(ctx, mustSignES(t, ec, e.s.issuer)); err == nil {
		t.Error("token signed by a foreign EC key verified against the rise JWKS")
	}
}

func mustSignES(t *testing.T, k *ecdsa.PrivateKey, iss string) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: "x"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"iss": iss, "aud": TokenAudience, "sub": "x", "exp": time.Now().Add(time.Hour).Unix()})
	jws, err := sig.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

func TestConfigValidation(t *testing.T) {
	bad := []*config.Auth{
		{TokenTTL: "forever"},
		{TokenTTL: "1s"},
		{SigningKeyFile: "/nonexistent/key.pem"},
		{Local: &config.LocalAuth{Users: []*config.LocalUser{{Email: "a@example.com", PasswordHash: "plaintext"}}}},
		{OIDC: []*config.OIDCProvider{{Name: "x", Issuer: "not a url", ClientID: "c"}}},
		{TrustedIssuers: []*config.TrustedIssuer{{Name: "gh", Issuer: "http://ci.example.com", Audience: "rise"}}},
		{TrustedIssuers: []*config.TrustedIssuer{{Name: "gh", Issuer: "https://ci.example.com"}}},
	}
	for i, c := range bad {
		if _, err := newService(context.Background(), c, nil, nil, Options{PublicURL: "http://localhost:3000", DataDir: t.TempDir()}); err == nil {
			t.Errorf("case %d: config accepted: %+v", i, c)
		}
	}
	if _, err := newService(context.Background(), nil, nil, nil, Options{PublicURL: "localhost:3000", DataDir: t.TempDir()}); err == nil {
		t.Error("relative public URL accepted")
	}
}
