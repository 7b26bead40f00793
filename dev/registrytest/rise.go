package registrytest

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	dockerregistry "github.com/riseplatform/rise/plugins/registry/docker"
	"github.com/riseplatform/rise/sdk"
	serverregistry "github.com/riseplatform/rise/server/registry"
)

// Rise is a real registry wired to rise's token service the way production
// is: the docker registry plugin signs tokens, and an httptest server serves
// server/registry's token realm in front of it.
type Rise struct {
	*Registry
	Plugin *dockerregistry.Registry
	Realm  string // token endpoint URL
}

// StartRise starts a token-authenticated registry backed by a provisioned
// docker registry plugin (namespace "rise", a key pair generated in a temp
// dir). Everything stops when the test ends.
func StartRise(t testing.TB) *Rise {
	t.Helper()
	return StartRiseRealmHost(t, "")
}

// StartRiseRealmHost is StartRise with the token realm's host written as
// host (e.g. "localhost": go-containerregistry ≥ 0.22 refuses a realm on a
// loopback IP address, so its clients need the name).
func StartRiseRealmHost(t testing.TB, host string) *Rise {
	t.Helper()
	p := &dockerregistry.Registry{URL: "127.0.0.1:1", StateDir: t.TempDir(), TokenTTL: "5m"}
	if err := p.Provision(context.Background()); err != nil {
		t.Fatalf("provision registry plugin: %v", err)
	}
	router := mux.NewRouter()
	api := router.PathPrefix("/api/v1").Subrouter()
	serverregistry.Routes(api, serverregistry.Deps{Registry: p, Tokens: p})
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	realm := srv.URL + "/api/v1/registry/token"
	if host != "" {
		realm = strings.Replace(realm, "127.0.0.1", host, 1)
	}
	reg := Start(t, Options{Realm: realm, Service: p.Service, Issuer: p.Issuer, RootCertBundle: p.CertificateBundle()})
	p.URL = reg.Addr
	return &Rise{Registry: reg, Plugin: p, Realm: realm}
}

// Credentials mints credentials for project (push+pull when push) that
// expire after ttl (zero = the plugin's default).
func (r *Rise) Credentials(t testing.TB, project string, push bool, ttl time.Duration) *sdk.Credentials {
	t.Helper()
	c, err := r.Plugin.Credentials(context.Background(), &sdk.CredentialsRequest{Project: project, Push: push, TTL: ttl, Subject: "user:test"})
	if err != nil {
		t.Fatalf("registry credentials for %s: %v", project, err)
	}
	return c
}
