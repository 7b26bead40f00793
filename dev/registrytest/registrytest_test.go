package registrytest

import (
	"net/http"
	"strings"
	"testing"
)

func TestOpenRegistryAnswers(t *testing.T) {
	r := Start(t, Options{})
	resp, err := http.Get(r.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ = %d", resp.StatusCode)
	}
}

func TestTokenRegistryChallengesWithRealm(t *testing.T) {
	dir := t.TempDir()
	bundle := dir + "/bundle.pem"
	writeSelfSigned(t, bundle)
	r := Start(t, Options{Realm: "http://127.0.0.1:1/token", Service: "svc", Issuer: "iss", RootCertBundle: bundle})
	resp, err := http.Get(r.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ch := resp.Header.Get("Www-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `realm="http://127.0.0.1:1/token"`) || !strings.Contains(ch, `service="svc"`) {
		t.Fatalf("GET /v2/ = %d %q", resp.StatusCode, ch)
	}
}
