package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/store"
)

// fakeIssuer is a CI system's OIDC issuer: discovery + JWKS over HTTP with
// a key the test generated.
type fakeIssuer struct {
	srv         *httptest.Server
	key         *rsa.PrivateKey
	kid         string
	claimIssuer string // what discovery says; default = its URL
}

func newFakeIssuer(t *testing.T, claimIssuer string) *fakeIssuer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIssuer{key: k, kid: "ci-key-1", claimIssuer: claimIssuer}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := f.claimIssuer
		if iss == "" {
			iss = f.srv.URL
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "jwks_uri": f.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"id_token"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: f.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// token mints a JWT like GitLab CI's id_tokens.
func (f *fakeIssuer) token(mod func(map[string]any)) string {
	now := time.Now()
	c := map[string]any{
		"iss": f.srv.URL, "aud": "rise", "sub": "project_path:acme/shop:ref_type:branch:ref:main",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"project_path": "acme/shop", "ref": "refs/heads/main", "pipeline_id": 42.0, "protected": true,
	}
	if mod != nil {
		mod(c)
	}
	return rawJWT(map[string]any{"alg": "RS256", "typ": "JWT", "kid": f.kid}, c, rsaSign(f.key))
}

func TestTrustedIssuerServiceAccounts(t *testing.T) {
	ci := newFakeIssuer(t, "")
	stranger := newFakeIssuer(t, "")
	e := newEnv(t, &config.Auth{TrustedIssuers: []*config.TrustedIssuer{
		{Name: "gitlab", Issuer: ci.srv.URL, Audience: "rise", AllowPrivateNetwork: true},
	}})
	owner := e.mkProject("shop", "owner@example.com")
	other := e.mkProject("other", "someone@example.com")

	// A token that matches nothing yet is refused.
	e.expectRefused("no service account yet", ci.token(nil))

	// Service-account API: validation, creation, listing, authorization.
	for _, bad := range []api.CreateServiceAccountRequest{
		{Issuer: "https://unknown.example.com", Claims: map[string]string{"project_path": "acme/shop"}},
		{Issuer: "gitlab"},
		{Issuer: "gitlab", Claims: map[string]string{"project_path": "*"}},
		{Issuer: "gitlab", Claims: map[string]string{"project_path": "[acme"}},
	} {
		if code, b := e.call(http.MethodPost, "/api/v1/projects/shop/service-accounts", owner, bad); code != http.StatusBadRequest {
			t.Errorf("create %+v: %d %s, want 400", bad, code, b)
		}
	}
	if code, _ := e.call(http.MethodPost, "/api/v1/projects/shop/service-accounts", other, api.CreateServiceAccountRequest{Issuer: "gitlab", Claims: map[string]string{"project_path": "acme/shop"}}); code != http.StatusNotFound {
		t.Errorf("create on someone else's project: %d, want 404", code)
	}
	code, b := e.call(http.MethodPost, "/api/v1/projects/shop/service-accounts", owner, api.CreateServiceAccountRequest{
		Issuer: "gitlab", Claims: map[string]string{"project_path": "acme/shop", "ref": "refs/heads/*", "pipeline_id": "42", "protected": "true"},
	})
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, b)
	}
	var sa api.ServiceAccount
	_ = json.Unmarshal(b, &sa)
	if sa.Project != "shop" || sa.Issuer != ci.srv.URL || sa.CreatedBy != "owner" || sa.ID == "" {
		t.Errorf("created: %+v", sa)
	}
	code, b = e.call(http.MethodGet, "/api/v1/projects/shop/service-accounts", owner, nil)
	var list api.ServiceAccountList
	_ = json.Unmarshal(b, &list)
	if code != http.StatusOK || len(list.ServiceAccounts) != 1 || list.ServiceAccounts[0].ID != sa.ID {
		t.Errorf("list: %d %s", code, b)
	}
	if code, _ := e.call(http.MethodGet, "/api/v1/projects/shop/service-accounts", other, nil); code != http.StatusNotFound {
		t.Errorf("list by a stranger: %d, want 404", code)
	}
	// other's project has a service account for a different repository.
	if code, b := e.call(http.MethodPost, "/api/v1/projects/other/service-accounts", other, api.CreateServiceAccountRequest{
		Issuer: ci.srv.URL, Claims: map[string]string{"project_path": "acme/other"},
	}); code != http.StatusCreated {
		t.Fatalf("create for other: %d %s", code, b)
	}

	// The matching CI token acts as the project's service account.
	tok := ci.token(nil)
	code, id := e.whoami(tok)
	if code != http.StatusOK || !id.IsServiceAccount() || id.ServiceAccount.Project != "shop" || id.ServiceAccount.ID != sa.ID ||
		id.ServiceAccount.Subject != "project_path:acme/shop:ref_type:branch:ref:main" || id.UserID != "" {
		t.Fatalf("service-account identity: %d %+v %+v", code, id, id.ServiceAccount)
	}
	// With the server's authorization rule it may deploy its project and
	// nothing else: other projects look missing.
	ctx := context.Background()
	if _, err := e.st.ProjectFor(ctx, &id, "shop", store.AccessDeploy); err != nil {
		t.Errorf("service account deploying its project: %v", err)
	}
	for _, a := range []store.Access{store.AccessRead, store.AccessDeploy} {
		if _, err := e.st.ProjectFor(ctx, &id, "other", a); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("service account %s on another project: %v, want not found", a, err)
		}
	}
	if _, err := e.st.ProjectFor(ctx, &id, "shop", store.AccessDelete); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("service account deleting its project: %v, want refused", err)
	}
	// ...and it may not manage service accounts, neither of
	// its own project nor of another one.
	if code, _ := e.call(http.MethodGet, "/api/v1/projects/other/service-accounts", tok, nil); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Errorf("service account on another project: %d, want 403/404", code)
	}
	if code, _ := e.call(http.MethodPost, "/api/v1/projects/shop/service-accounts", tok, api.CreateServiceAccountRequest{Issuer: "gitlab", Claims: map[string]string{"a": "b"}}); code != http.StatusForbidden {
		t.Errorf("service account creating service accounts: %d, want 403", code)
	}

	// Attacks on trusted-issuer tokens.
	pubDER, _ := x509.MarshalPKIXPublicKey(&ci.key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	good := ci.token(nil)
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"claims do not match (ref)":     ci.token(func(c map[string]any) { c["ref"] = "refs/tags/v1" }),
		"glob does not cross /":         ci.token(func(c map[string]any) { c["ref"] = "refs/heads/feature/x" }),
		"claims do not match (project)": ci.token(func(c map[string]any) { c["project_path"] = "acme/shop2" }),
		"claim missing":                 ci.token(func(c map[string]any) { delete(c, "pipeline_id") }),
		"claim of another type":         ci.token(func(c map[string]any) { c["protected"] = "yes" }),
		"wrong audience":                ci.token(func(c map[string]any) { c["aud"] = "gitlab.com" }),
		"expired":                       ci.token(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"not yet valid":                 ci.token(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }),
		"alg=none":                      b64(map[string]any{"alg": "none", "kid": ci.kid}) + "." + parts[1] + ".",
		"HS256 keyed with the issuer's RSA public key": rawJWT(map[string]any{"alg": "HS256", "kid": ci.kid}, map[string]any{
			"iss": ci.srv.URL, "aud": "rise", "exp": time.Now().Add(time.Hour).Unix(), "project_path": "acme/shop",
			"ref": "refs/heads/main", "pipeline_id": 42, "protected": true}, hs256(pubPEM)),
		"unknown kid":      rawJWT(map[string]any{"alg": "RS256", "kid": "other"}, map[string]any{"iss": ci.srv.URL}, rsaSign(ci.key)),
		"tampered payload": parts[0] + "." + b64(map[string]any{"iss": ci.srv.URL, "aud": "rise", "exp": time.Now().Add(time.Hour).Unix(), "project_path": "acme/other"}) + "." + parts[2],
		"untrusted issuer": stranger.token(nil),
		"issuer signed by another issuer's key": rawJWT(map[string]any{"alg": "RS256", "kid": ci.kid}, map[string]any{
			"iss": ci.srv.URL, "aud": "rise", "exp": time.Now().Add(time.Hour).Unix(), "project_path": "acme/shop",
			"ref": "refs/heads/main", "pipeline_id": 42, "protected": true}, rsaSign(stranger.key)),
	}
	for name, tok := range cases {
		e.expectRefused(name, tok)
	}

	// Deleting the service account revokes it.
	if code, _ := e.call(http.MethodDelete, "/api/v1/projects/shop/service-accounts/"+sa.ID, other, nil); code != http.StatusNotFound {
		t.Errorf("delete by stranger: %d", code)
	}
	if code, b := e.call(http.MethodDelete, "/api/v1/projects/shop/service-accounts/"+sa.ID, owner, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, b)
	}
	e.expectRefused("deleted service account", good)
}

// TestTrustedIssuerDiscoveryMismatch: a discovery document whose issuer
// differs from the configured URL is refused.
func TestTrustedIssuerDiscoveryMismatch(t *testing.T) {
	ci := newFakeIssuer(t, "https://gitlab.example.com")
	e := newEnv(t, &config.Auth{TrustedIssuers: []*config.TrustedIssuer{
		{Name: "gitlab", Issuer: ci.srv.URL, Audience: "rise", AllowPrivateNetwork: true},
	}})
	e.expectRefused("discovery issuer mismatch", ci.token(nil))
	if !strings.Contains(e.logs.String(), "did not match") {
		t.Errorf("log does not name the mismatch:\n%s", e.logs)
	}
}

// TestTrustedIssuerSSRFGuard: without allow_private_network the server will
// not fetch discovery/JWKS from loopback (or other private) addresses.
func TestTrustedIssuerSSRFGuard(t *testing.T) {
	ci := newFakeIssuer(t, "")
	tls := httptest.NewTLSServer(ci.srv.Config.Handler)
	t.Cleanup(tls.Close)
	e := newEnv(t, &config.Auth{TrustedIssuers: []*config.TrustedIssuer{
		{Name: "gitlab", Issuer: tls.URL, Audience: "rise"},
	}})
	tok := ci.token(func(c map[string]any) { c["iss"] = tls.URL })
	e.expectRefused("loopback issuer without allow_private_network", tok)
	if !strings.Contains(e.logs.String(), "is not allowed") {
		t.Errorf("log does not name the SSRF guard:\n%s", e.logs)
	}

	for addr, public := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fd00::1": false, "100.64.0.1": false, "0.0.0.0": false,
		"::ffff:127.0.0.1": false, "::ffff:169.254.169.254": false, "224.0.0.1": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("publicAddr(%s) = %v, want %v", addr, got, public)
		}
	}
	// The guarded client itself refuses a private address (metadata service).
	if _, err := guardedClient(false).Get("http://169.254.169.254/latest/meta-data/"); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("guarded client to 169.254.169.254: %v", err)
	}
}
