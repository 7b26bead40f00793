package ui_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/domains"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/keyring"
	"github.com/riseplatform/rise/server/servertest"
	"github.com/riseplatform/rise/server/ui"
	"github.com/riseplatform/rise/server/variables"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is a server with the dashboard; a browser session is the cookie
// rise_session holding a servertest token.
func env(t *testing.T) *servertest.Env {
	t.Helper()
	return servertest.New(t, func(_ *config.Server, d *server.Deps) {
		auth := d.Auth
		// The deployments API (its controller does not run: no runtime).
		deployments, err := deploy.New(deploy.Options{Store: d.Store, Runtime: func(context.Context) (sdk.Runtime, error) {
			return nil, errors.New("no runtime in this test")
		}})
		if err != nil {
			t.Fatal(err)
		}
		d.Mounts = append(d.Mounts, deployments)
		// Stored variables (a local key) and custom domains.
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		kr, err := keyring.FromConfig(context.Background(), &config.Encryption{Provider: "local", Key: base64.StdEncoding.EncodeToString(key)})
		if err != nil {
			t.Fatal(err)
		}
		vars, err := variables.New(variables.Options{Store: d.Store, Keyring: kr, Audit: d.Audit})
		if err != nil {
			t.Fatal(err)
		}
		doms, err := domains.New(domains.Options{Store: d.Store, Rules: domains.Rules{AppsDomain: "apps.rise.test", OwnHost: "rise.test"},
			Checker: domains.NewChecker("", "rise.test", nil)})
		if err != nil {
			t.Fatal(err)
		}
		d.Mounts = append(d.Mounts, vars, doms)
		dash, err := ui.New(ui.Options{
			PublicURL:     "http://rise.test",
			SessionCookie: "rise_session",
			Sections:      ui.FeatureSections(),
			Identity: func(r *http.Request) (*identity.Identity, error) {
				c, err := r.Cookie("rise_session")
				if err != nil {
					return nil, nil
				}
				req := r.Clone(r.Context())
				req.Header.Set("Authorization", "Bearer "+c.Value)
				var id *identity.Identity
				auth.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
					id = identity.From(r.Context())
				})).ServeHTTP(httptest.NewRecorder(), req)
				return id, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		d.RootMounts = append(d.RootMounts, dash)
	})
}

// browser is an HTTP client with c's session cookie that does not follow
// redirects.
func browser(e *servertest.Env, c *servertest.Caller) func(method, path string, form url.Values) (*http.Response, string) {
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return func(method, path string, form url.Values) (*http.Response, string) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, e.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if c != nil {
			req.AddCookie(&http.Cookie{Name: "rise_session", Value: c.Token})
		}
		resp, err := hc.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestPagesAuthorizeLikeTheAPI(t *testing.T) {
	e := env(t)
	alice, bob := e.User(t, "alice@rise.test", false), e.User(t, "bob@rise.test", false)
	ctx := context.Background()
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "alices", Visibility: "private"}); err != nil {
		t.Fatal(err)
	}
	resp, page := browser(e, alice)("GET", "/projects/alices", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "<h1>alices</h1>") {
		t.Fatalf("alice's own project: %d\n%s", resp.StatusCode, page)
	}
	b := browser(e, bob)
	resp, theirs := b("GET", "/projects/alices", nil)
	resp2, missing := b("GET", "/projects/nosuch", nil)
	if resp.StatusCode != 404 || resp2.StatusCode != 404 {
		t.Fatalf("bob on alice's project: %d, on a missing one: %d", resp.StatusCode, resp2.StatusCode)
	}
	if strings.ReplaceAll(theirs, "alices", "P") != strings.ReplaceAll(missing, "nosuch", "P") {
		t.Errorf("alice's project and a missing one differ for bob:\n%s\n---\n%s", theirs, missing)
	}
	if resp, _ := b("GET", "/projects", nil); resp.StatusCode != 200 {
		t.Errorf("bob's projects page: %d", resp.StatusCode)
	} else if _, list := b("GET", "/projects", nil); strings.Contains(list, "alices") {
		t.Error("bob's projects page lists alice's private project")
	}
	// Bob cannot delete it either, even with a valid token of his own session.
	_, newPage := b("GET", "/projects/new", nil)
	m := csrfField.FindStringSubmatch(newPage)
	if m == nil {
		t.Fatalf("no CSRF field on /projects/new:\n%s", newPage)
	}
	if resp, _ := b("POST", "/projects/alices/delete", url.Values{"csrf": {m[1]}, "confirm": {"alices"}}); resp.StatusCode != 404 {
		t.Errorf("bob deletes alice's project: %d, want 404", resp.StatusCode)
	}
	if p, err := alice.Client.GetProject(ctx, "alices"); err != nil || p.Status == "deleting" {
		t.Errorf("alice's project after bob's attempt: %+v %v", p, err)
	}

	// Without a session: the browser login, coming back here.
	resp, _ = browser(e, nil)("GET", "/projects/alices", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/auth/login?rd="+url.QueryEscape("http://rise.test/projects/alices") {
		t.Errorf("anonymous: %d Location %q", resp.StatusCode, loc)
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	e := env(t)
	alice, bob := e.User(t, "alice@rise.test", false), e.User(t, "bob@rise.test", false)
	a := browser(e, alice)
	_, bobsPage := browser(e, bob)("GET", "/projects/new", nil)
	bobsToken := csrfField.FindStringSubmatch(bobsPage)[1]
	for name, form := range map[string]url.Values{
		"no token":          {"name": {"forged"}},
		"wrong token":       {"name": {"forged"}, "csrf": {"x"}},
		"another's session": {"name": {"forged"}, "csrf": {bobsToken}},
	} {
		if resp, body := a("POST", "/projects", form); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "did not come from rise") {
			t.Errorf("%s: %d\n%s", name, resp.StatusCode, body)
		}
	}
	if _, err := alice.Client.GetProject(context.Background(), "forged"); api.StatusOf(err) != 404 {
		t.Fatalf("a refused form created the project: %v", err)
	}

	_, page := a("GET", "/projects/new", nil)
	token := csrfField.FindStringSubmatch(page)[1]
	resp, body := a("POST", "/projects", url.Values{"name": {"made-in-ui"}, "visibility": {"private"}, "csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/projects/made-in-ui" {
		t.Fatalf("create: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// The API's own validation and messages, through the same route.
	resp, body = a("POST", "/projects", url.Values{"name": {"made-in-ui"}, "csrf": {token}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Project name &#39;made-in-ui&#39; is already taken") {
		t.Errorf("duplicate: %d\n%s", resp.StatusCode, body)
	}
	// Audited like the API call, as alice.
	evs, err := alice.Client.Audit(context.Background(), api.AuditQuery{Project: "made-in-ui"})
	if err != nil || len(evs.Events) == 0 || evs.Events[len(evs.Events)-1].Action != "project.create" || evs.Events[len(evs.Events)-1].Actor != "user:alice" {
		t.Errorf("audit of the dashboard's create: %+v %v", evs, err)
	}
	// Typed-name confirmation.
	if resp, _ := a("POST", "/projects/made-in-ui/delete", url.Values{"csrf": {token}, "confirm": {"made-in"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("delete with the wrong name: %d", resp.StatusCode)
	}
	if resp, _ := a("POST", "/projects/made-in-ui/delete", url.Values{"csrf": {token}, "confirm": {"made-in-ui"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if p, err := alice.Client.GetProject(context.Background(), "made-in-ui"); err != nil || p.Status != "deleting" {
		t.Errorf("after delete: %+v %v", p, err)
	}
	// A cross-site post carries another Origin.
	req, _ := http.NewRequest("POST", e.URL+"/projects", strings.NewReader(url.Values{"name": {"xsite"}, "csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.AddCookie(&http.Cookie{Name: "rise_session", Value: alice.Token})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin post: %v %v", resp, err)
	}
}

func TestHeadersAssetsAndEscaping(t *testing.T) {
	e := env(t)
	alice := e.User(t, "alice@rise.test", false)
	a := browser(e, alice)
	resp, page := a("GET", "/projects?q=%3Cscript%3Ealert(1)%3C/script%3E", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		strings.Contains(csp, "unsafe") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers: CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the filter text is not escaped")
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
		t.Error("a page has inline script or style")
	}
	m := regexp.MustCompile(`src="(/static/app\.[0-9a-f]{12}\.js)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no fingerprinted script on the page:\n%s", page)
	}
	resp, js := a("GET", m[1], nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.Contains(js, "EventSource") {
		t.Errorf("asset %s: %d %q", m[1], resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := a("GET", "/static/app.000000000000.js", nil); resp.StatusCode != 404 {
		t.Errorf("unknown asset: %d", resp.StatusCode)
	}
}
