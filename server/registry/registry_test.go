package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	dockerregistry "github.com/riseplatform/rise/plugins/registry/docker"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/registry"
)

type env struct {
	srv    *httptest.Server
	plugin *dockerregistry.Registry
	caller *identity.Identity
}

func setup(t *testing.T) *env {
	t.Helper()
	p := &dockerregistry.Registry{URL: "127.0.0.1:5000", StateDir: t.TempDir()}
	if err := p.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{plugin: p}
	states := map[string]deploy.State{"app/1": "Pending", "app/2": "Building", "app/3": "Pushing", "app/4": "Pushed", "app/5": "Healthy", "app/6": "Failed"}
	deps := registry.DeploymentsFunc(func(ctx context.Context, caller *identity.Identity, project, id string) (deploy.State, error) {
		if caller.Name == "mallory" {
			return "", registry.ErrNotFound
		}
		if s, ok := states[project+"/"+id]; ok {
			return s, nil
		}
		if id == "boom" {
			return "", fmt.Errorf("db down")
		}
		return "", registry.ErrNotFound
	})
	r := mux.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if e.caller != nil {
				req = req.WithContext(identity.With(req.Context(), e.caller))
			}
			next.ServeHTTP(w, req)
		})
	})
	registry.Routes(r.PathPrefix("/api/v1").Subrouter(), registry.Deps{Registry: p, Tokens: p, Deployments: deps})
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) get(t *testing.T, path string, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1"+path, nil)
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestCredentialsRoute(t *testing.T) {
	e := setup(t)
	path := func(id string) string { return "/projects/app/deployments/" + id + "/registry-credentials" }
	if code, _ := e.get(t, path("1")); code != http.StatusUnauthorized {
		t.Fatalf("anonymous = %d", code)
	}
	e.caller = &identity.Identity{Name: "alice"}
	for id, want := range map[string]int{"1": 200, "2": 200, "3": 200, "4": 409, "5": 409, "6": 409, "404": 404, "boom": 500} {
		code, body := e.get(t, path(id))
		if code != want {
			t.Errorf("deployment %s: %d %v, want %d", id, code, body, want)
		}
		if code == 409 && !strings.Contains(body["error"].(string), "only handed out while it is Pending, Building or Pushing") {
			t.Errorf("409 message: %v", body)
		}
		if code == 500 && strings.Contains(fmt.Sprint(body), "db down") {
			t.Errorf("500 leaks internals: %v", body)
		}
	}
	_, body := e.get(t, path("2"))
	var rc api.RegistryCredentials
	b, _ := json.Marshal(body)
	_ = json.Unmarshal(b, &rc)
	if rc.Repository != "127.0.0.1:5000/rise/app" || rc.Username == "" || rc.Password == "" || rc.ExpiresAt.IsZero() {
		t.Fatalf("credentials = %+v", rc)
	}
	// The credentials work at the realm, for exactly that repository.
	code, tok := e.get(t, "/registry/token?service=rise-registry&scope=repository:rise/app:push,pull", rc.Username, rc.Password)
	if code != 200 || tok["token"] == "" || tok["access_token"] != tok["token"] || tok["expires_in"].(float64) != 300 {
		t.Fatalf("token = %d %v", code, tok)
	}

	e.caller = &identity.Identity{Name: "mallory"}
	if code, _ := e.get(t, path("1")); code != 404 {
		t.Errorf("not-yours = %d, want 404", code)
	}
	e.caller = &identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "sa1", Project: "other"}}
	if code, _ := e.get(t, path("1")); code != 404 {
		t.Errorf("service account of another project = %d, want 404", code)
	}
}

func TestTokenRoute(t *testing.T) {
	e := setup(t)
	if code, body := e.get(t, "/registry/token?service=rise-registry"); code != 401 || body["error"] == nil {
		t.Fatalf("no credentials = %d %v", code, body)
	}
	if code, _ := e.get(t, "/registry/token?service=rise-registry", "rise-app", "nope"); code != 401 {
		t.Fatalf("bad credentials = %d", code)
	}
}

func TestTokenRouteWithoutTokenIssuer(t *testing.T) {
	r := mux.NewRouter()
	registry.Routes(r, registry.Deps{})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/registry/token", nil))
	if rec.Code != 404 {
		t.Fatalf("token route without issuer = %d", rec.Code)
	}
}
