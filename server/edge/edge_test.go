package edge

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riseplatform/rise/server/identity"
)

func TestProjectFromHost(t *testing.T) {
	h, err := New(Options{Domain: "Apps.Example.com", Lookup: func(context.Context, string) (*Route, error) { return nil, ErrUnknownProject }})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"my-app.apps.example.com":      "my-app",
		"MY-APP.apps.example.com:8443": "my-app",
		"my-app.apps.example.com.":     "my-app",
		"apps.example.com":             "",
		"a.b.apps.example.com":         "",
		"my-app.example.com":           "",
		"evilapps.example.com":         "",
	} {
		got, ok := h.Project(host)
		if got != want || ok != (want != "") {
			t.Errorf("Project(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
	if _, err := New(Options{Domain: "x"}); err == nil {
		t.Error("New without Lookup accepted")
	}
	// Environment and group hosts (sdk/apphost): the project is the part
	// before the first "--"; the lookup gets the whole label.
	for host, want := range map[string][2]string{
		"shop--staging.apps.example.com": {"shop", "staging"},
		"shop--mr--27.apps.example.com":  {"shop", "mr--27"},
		"shop.apps.example.com":          {"shop", ""},
	} {
		a, ok := h.Address(host)
		if !ok || a.Project != want[0] || a.Suffix != want[1] || a.Label() != strings.TrimSuffix(host, ".apps.example.com") {
			t.Errorf("Address(%q) = %+v, %v; want %v", host, a, ok, want)
		}
	}
	for _, host := range []string{"--x.apps.example.com", "shop--.apps.example.com"} {
		if a, ok := h.Address(host); ok {
			t.Errorf("Address(%q) = %+v, want no app host", host, a)
		}
	}
}

func TestProxyHeadersCookiesAndErrors(t *testing.T) {
	var seen *http.Request
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		_, _ = io.WriteString(w, "app:"+r.URL.Path)
	}))
	defer app.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	routes := map[string]*Route{
		"up":     {Project: "up", Deployment: "1", Upstreams: []string{app.URL}},
		"down":   {Project: "down", Deployment: "1", Upstreams: []string{deadURL}},
		"idle":   {Project: "idle"},
		"secret": {Project: "secret", Private: true, Deployment: "1", Upstreams: []string{app.URL}},
	}
	h, err := New(Options{
		Domain: "apps.test", PublicURL: "https://rise.test/",
		Lookup: func(_ context.Context, p string) (*Route, error) {
			if r, ok := routes[p]; ok {
				return r, nil
			}
			return nil, ErrUnknownProject
		},
		Identity: func(r *http.Request) (*identity.Identity, error) {
			if r.Header.Get("Authorization") == "Bearer good" {
				return &identity.Identity{Name: "alice"}, nil
			}
			return nil, nil
		},
		CanAccess:    func(_ context.Context, id *identity.Identity, p string) (bool, error) { return id.Name == "alice", nil },
		StripCookies: []string{"rise_session"},
	})
	if err != nil {
		t.Fatal(err)
	}
	edge := httptest.NewServer(h)
	defer edge.Close()
	do := func(host, method string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, edge.URL+"/p/q", nil)
		req.Host = host
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, strings.TrimSpace(string(b))
	}

	resp, body := do("up.apps.test", http.MethodGet, "Cookie", "rise_session=tok; theme=dark")
	if resp.StatusCode != 200 || body != "app:/p/q" {
		t.Fatalf("proxied = %d %q", resp.StatusCode, body)
	}
	if seen.Host != "up.apps.test" || seen.Header.Get("X-Forwarded-Host") != "up.apps.test" || seen.Header.Get("X-Forwarded-For") == "" {
		t.Errorf("app saw Host %q, headers %v", seen.Host, seen.Header)
	}
	if c := seen.Header.Get("Cookie"); strings.Contains(c, "rise_session") || !strings.Contains(c, "theme=dark") {
		t.Errorf("app saw cookies %q", c)
	}
	if resp, _ := do("down.apps.test", http.MethodGet); resp.StatusCode != 502 {
		t.Errorf("dead upstream = %d", resp.StatusCode)
	}
	if resp, _ := do("idle.apps.test", http.MethodGet); resp.StatusCode != 503 {
		t.Errorf("no deployment = %d", resp.StatusCode)
	}
	if resp, _ := do("nope.apps.test", http.MethodGet); resp.StatusCode != 404 {
		t.Errorf("unknown = %d", resp.StatusCode)
	}
	// Private: a form POST without a session is not redirected (401).
	if resp, _ := do("secret.apps.test", http.MethodPost, "Accept", "text/html"); resp.StatusCode != 401 {
		t.Errorf("private POST = %d", resp.StatusCode)
	}
	resp, _ = do("secret.apps.test", http.MethodGet, "Accept", "text/html", "X-Forwarded-Proto", "https")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://rise.test/auth/login?rd=https%3A%2F%2Fsecret.apps.test%2Fp%2Fq" {
		t.Errorf("private browser = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := do("secret.apps.test", http.MethodGet, "Authorization", "Bearer good"); resp.StatusCode != 200 || body != "app:/p/q" {
		t.Errorf("private with access = %d %q", resp.StatusCode, body)
	}
}

func TestProjectHosts(t *testing.T) {
	h, err := New(Options{Domain: "apps.test", PublicURL: "https://rise.apps.test",
		Lookup: func(_ context.Context, p string) (*Route, error) { return &Route{Project: p}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.Project(r.Host); ok { // what the server does (server.Deps.Edge)
			h.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	defer srv.Close()
	for host, want := range map[string]int{
		"my-app.apps.test":      503, // edge: no deployment
		"my-app.apps.test:8443": 503,
		"rise.apps.test":        299, // rise's own host
		"localhost:3000":        299,
		"127.0.0.1":             299,
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/health", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s → %d, want %d", host, resp.StatusCode, want)
		}
	}
}

func TestDomainWithPort(t *testing.T) {
	h, err := New(Options{Domain: "localhost:3000", PublicURL: "http://127.0.0.1:3000",
		Lookup: func(_ context.Context, p string) (*Route, error) { return &Route{Project: p}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"hello.localhost:3000": "hello", "hello.localhost": "hello", "localhost:3000": "", "127.0.0.1:3000": ""} {
		if got, _ := h.Project(host); got != want {
			t.Errorf("Project(%q) = %q, want %q", host, got, want)
		}
	}
}
