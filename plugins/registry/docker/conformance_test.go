package docker_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/riseplatform/rise/dev/registrytest"
	dockerregistry "github.com/riseplatform/rise/plugins/registry/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// TestConformance runs the SDK's registry suite in-process, with the same key
// pair as a real token-authenticated registry: every issued credential is
// exchanged at the realm and used against the registry.
func TestConformance(t *testing.T) {
	reg := registrytest.StartRise(t)
	cfg := map[string]any{
		"url": reg.Addr, "signing_key_file": reg.Plugin.SigningKeyFile, "certificate_file": reg.Plugin.CertificateFile,
	}
	sdktest.RegistryConformance(t, dockerregistry.Component(), cfg,
		sdktest.WithInvalidConfig(map[string]any{"url": "http://" + reg.Addr}),
		sdktest.WithCredentialsCheck(func(t *testing.T, c *sdk.Credentials) {
			q := url.Values{"service": {"rise-registry"}, "scope": {"repository:rise/sdktest:pull"}}
			req, _ := http.NewRequest("GET", reg.Realm+"?"+q.Encode(), nil)
			req.SetBasicAuth(c.Username, c.Password)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("realm refused the credentials: %s", resp.Status)
			}
		}))
}
