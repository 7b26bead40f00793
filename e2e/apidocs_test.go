package e2e

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/registrytest"
)

// docRoute is one route named in a heading of docs/api.md.
type docRoute struct{ Method, Path, Heading string }

// headingRoute matches "`GET /api/v1/x`" and "`GET|HEAD /api/v1/x?project=<name>`".
var headingRoute = regexp.MustCompile("`((?:GET|POST|PATCH|PUT|DELETE|HEAD)(?:\\|(?:GET|POST|PATCH|PUT|DELETE|HEAD))*) (/[^` ?]*)[^`]*`")

// documentedRoutes reads every "### " heading of docs/api.md that names
// routes.
func documentedRoutes(t *testing.T) []docRoute {
	t.Helper()
	b, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []docRoute
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "### ") {
			continue
		}
		for _, m := range headingRoute.FindAllStringSubmatch(line, -1) {
			for method := range strings.SplitSeq(m[1], "|") {
				out = append(out, docRoute{Method: method, Path: m[2], Heading: line})
			}
		}
	}
	return out
}

// anonymousRoute reports whether the reference documents path as open to
// anonymous callers.
func anonymousRoute(path string) bool {
	switch {
	case path == "/api/v1/health", path == "/api/v1/ready", path == "/api/v1/version",
		path == "/api/v1/registry/token", path == "/api/v1/ingress/auth":
		return true
	}
	for _, p := range []string{"/api/v1/auth/", "/.well-known/", "/auth/", "/.rise/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// TestAPIDocsRoutesExist checks docs/api.md against a real `rise server`
// (local user, registry, Docker runtime): every route a heading names is
// served with that method (neither the router's "no such API route" nor
// 405), and every route not documented as anonymous answers 401 to an
// anonymous caller.
func TestAPIDocsRoutesExist(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a rise server, PostgreSQL and a registry")
	}
	routes := documentedRoutes(t)
	if len(routes) < 30 {
		t.Fatalf("found only %d routes in the headings of docs/api.md; did the heading format change?", len(routes))
	}
	port := freePort(t)
	public := "http://127.0.0.1:" + strconv.Itoa(port)
	key, crt := writeTokenKeyPair(t, t.TempDir())
	reg := registrytest.Start(t, registrytest.Options{
		Realm: public + "/api/v1/registry/token", Service: "rise-registry", Issuer: "rise", RootCertBundle: crt,
	})
	srv := startSessionServer(t, port, `
registry "docker" {
  url              = "`+reg.Addr+`"
  token_ttl        = "5m"
  service          = "rise-registry"
  issuer           = "rise"
  signing_key_file = "`+key+`"
  certificate_file = "`+crt+`"
}
`)
	appHost := "docs-check.localhost:" + strconv.Itoa(port)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fill := strings.NewReplacer("{name}", "docs-check", "{p}", "docs-check", "{project}", "docs-check", "{id}", "20990101-000000")
	for _, rt := range routes {
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			path := fill.Replace(rt.Path)
			var body io.Reader
			if rt.Method == http.MethodPost || rt.Method == http.MethodPatch {
				body = strings.NewReader("{}")
			}
			req, err := http.NewRequest(rt.Method, srv.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if strings.HasPrefix(path, "/.rise/") {
				req.Host = appHost // the edge serves /.rise/ on app hosts only
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed || strings.Contains(string(b), "no such API route") ||
				(strings.HasPrefix(path, "/.rise/") && resp.StatusCode == http.StatusNotFound) {
				t.Fatalf("docs/api.md heading %q names a route the server does not serve: %d %s", rt.Heading, resp.StatusCode, b)
			}
			if !anonymousRoute(rt.Path) && resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("anonymous %s %s: got %d %s, want 401 (the reference says it needs authentication)", rt.Method, path, resp.StatusCode, b)
			}
		})
	}
}
