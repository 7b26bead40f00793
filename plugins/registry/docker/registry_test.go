package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/riseplatform/rise/sdk"
)

func provisioned(t *testing.T) *Registry {
	t.Helper()
	r := &Registry{URL: "127.0.0.1:5000", StateDir: t.TempDir()}
	if err := r.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestValidate(t *testing.T) {
	cases := map[string]struct {
		r    Registry
		want string
	}{
		"ok":           {Registry{URL: "127.0.0.1:5000"}, ""},
		"no url":       {Registry{}, "url is required"},
		"scheme":       {Registry{URL: "http://x:5000"}, "without scheme"},
		"bad ns":       {Registry{URL: "x", Namespace: "Rise!"}, "namespace"},
		"bad ttl":      {Registry{URL: "x", TokenTTL: "five"}, "token_ttl"},
		"half keypair": {Registry{URL: "x", SigningKeyFile: "k"}, "go together"},
	}
	for name, c := range cases {
		err := c.r.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate() = %v, want %q", name, err, c.want)
		}
	}
}

func TestProvisionGeneratesAndReusesKeyPair(t *testing.T) {
	dir := t.TempDir()
	a := &Registry{URL: "x:1", StateDir: dir}
	if err := a.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &Registry{URL: "x:1", StateDir: dir}
	if err := b.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !a.cert.Equal(b.cert) {
		t.Fatal("second Provision generated a new key pair")
	}
	if got := a.CertificateBundle(); got != filepath.Join(dir, "token-signing.crt") {
		t.Fatalf("bundle = %s", got)
	}
	if st, _ := os.Stat(a.SigningKeyFile); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode = %v", st.Mode())
	}
	// A configured pair that does not match is rejected.
	c := &Registry{URL: "x:1", SigningKeyFile: a.SigningKeyFile, CertificateFile: writeOtherCert(t)}
	if err := c.Provision(context.Background()); err == nil || !strings.Contains(err.Error(), "not for signing key") {
		t.Fatalf("mismatched pair: %v", err)
	}
}

func writeOtherCert(t *testing.T) string {
	dir := t.TempDir()
	if err := generateKeyPair(filepath.Join(dir, "k"), filepath.Join(dir, "c"), "x"); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "c")
}

func TestCredentialsShape(t *testing.T) {
	r := provisioned(t)
	c, err := r.Credentials(context.Background(), &sdk.CredentialsRequest{Project: "my-app", Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry != "127.0.0.1:5000" || c.Repository != "127.0.0.1:5000/rise/my-app" || c.Username != "rise-my-app" {
		t.Fatalf("credentials = %+v", c)
	}
	if d := time.Until(c.ExpiresAt); d < 4*time.Minute || d > 5*time.Minute {
		t.Fatalf("expires in %s, want ~5m", d)
	}
	if _, err := r.Credentials(context.Background(), &sdk.CredentialsRequest{Project: "../etc"}); !sdk.IsPermanent(err) {
		t.Fatalf("bad project: %v", err)
	}
	short, _ := r.Credentials(context.Background(), &sdk.CredentialsRequest{Project: "a", TTL: time.Minute})
	if d := time.Until(short.ExpiresAt); d > time.Minute {
		t.Fatalf("requested TTL ignored: %s", d)
	}
}

// claimsOf decodes a token's header and claims without verifying.
func claimsOf(t *testing.T, tok string) (map[string]any, registryClaims) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	var h map[string]any
	var c registryClaims
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		t.Fatal(err)
	}
	return h, c
}

func TestIssueTokenScopes(t *testing.T) {
	r := provisioned(t)
	ctx := context.Background()
	push, _ := r.Credentials(ctx, &sdk.CredentialsRequest{Project: "app-a", Push: true})
	pull, _ := r.Credentials(ctx, &sdk.CredentialsRequest{Project: "app-a"})
	cases := []struct {
		name   string
		creds  *sdk.Credentials
		scopes []string
		want   []access
	}{
		{"login", push, nil, []access{}},
		{"push own", push, []string{"repository:rise/app-a:push,pull"}, []access{{"repository", "rise/app-a", []string{"push", "pull"}}}},
		{"other repo", push, []string{"repository:rise/app-b:push,pull"}, []access{}},
		{"mixed", push, []string{"repository:rise/app-b:pull", "repository:rise/app-a:pull"}, []access{{"repository", "rise/app-a", []string{"pull"}}}},
		{"pull only", pull, []string{"repository:rise/app-a:pull,push"}, []access{{"repository", "rise/app-a", []string{"pull"}}}},
		{"no delete", push, []string{"repository:rise/app-a:delete,*"}, []access{}},
		{"catalog", push, []string{"registry:catalog:*"}, []access{}},
	}
	for _, c := range cases {
		tok, err := r.IssueToken(ctx, &sdk.TokenRequest{Username: c.creds.Username, Password: c.creds.Password, Service: "rise-registry", Scopes: c.scopes})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		h, claims := claimsOf(t, tok.Token)
		if !reflect.DeepEqual(claims.Access, c.want) {
			t.Errorf("%s: access = %+v, want %+v", c.name, claims.Access, c.want)
		}
		if claims.Audience != "rise-registry" || claims.Issuer != "rise" || h["alg"] != "ES256" {
			t.Errorf("%s: header %v claims %+v", c.name, h, claims)
		}
		if x5c, _ := h["x5c"].([]any); len(x5c) != 1 {
			t.Errorf("%s: x5c header = %v", c.name, h["x5c"])
		}
		if tok.ExpiresIn != 5*time.Minute {
			t.Errorf("%s: expires in %s", c.name, tok.ExpiresIn)
		}
	}
}

func TestIssueTokenRefusesBadCredentials(t *testing.T) {
	r := provisioned(t)
	other := provisioned(t)
	ctx := context.Background()
	good, _ := r.Credentials(ctx, &sdk.CredentialsRequest{Project: "app", Push: true})
	forged, _ := other.Credentials(ctx, &sdk.CredentialsRequest{Project: "app", Push: true})
	past := time.Now().Add(-time.Hour)
	SetClock(r, func() time.Time { return past })
	expired, _ := r.Credentials(ctx, &sdk.CredentialsRequest{Project: "app", Push: true})
	SetClock(r, time.Now)
	// A registry token is not a password.
	regTok, _ := RegistryToken(r, "rise/app", "push")

	cases := map[string]sdk.TokenRequest{
		"anonymous":      {},
		"garbage":        {Username: good.Username, Password: "hunter2"},
		"forged":         {Username: good.Username, Password: forged.Password},
		"expired":        {Username: expired.Username, Password: expired.Password},
		"wrong user":     {Username: "rise-other", Password: good.Password},
		"wrong service":  {Username: good.Username, Password: good.Password, Service: "someone-else"},
		"registry token": {Username: good.Username, Password: regTok},
	}
	for name, req := range cases {
		_, err := r.IssueToken(ctx, &req)
		if !errors.Is(err, ErrBadCredentials) || !sdk.IsPermanent(err) {
			t.Errorf("%s: err = %v, want permanent ErrBadCredentials", name, err)
		}
	}
	_, err := r.IssueToken(ctx, &sdk.TokenRequest{Username: expired.Username, Password: expired.Password})
	if !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: message %q does not say so", err)
	}
}

func TestTokenVerifiesWithCertificateKey(t *testing.T) {
	r := provisioned(t)
	tok, err := RegistryToken(r, "rise/app", "pull")
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	chains, err := jws.Signatures[0].Protected.Certificates(x509Opts(r))
	if err != nil || len(chains) == 0 {
		t.Fatalf("x5c does not verify against the bundle: %v", err)
	}
	if _, err := jws.Verify(r.cert.PublicKey); err != nil {
		t.Fatal(err)
	}
}
