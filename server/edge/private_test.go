package edge_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/edge"
)

// TestPrivateAppBrowserFlow is the dev set-up: rise at
// http://127.0.0.1:<port>, apps at http://<project>.localhost:<port>, where
// no cookie can be shared, so the session travels by ticket.
func TestPrivateAppBrowserFlow(t *testing.T) {
	p := newPlatform(t, "127.0.0.1", "localhost")
	b := newBrowser(t)

	// No session: a browser is sent to rise's login with the app URL.
	resp, _ := b.get(p.app("hello", "/dash?tab=1"))
	wantLogin := p.publicURL + "/auth/login?rd=" + url.QueryEscape(p.app("hello", "/dash?tab=1"))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != wantLogin {
		t.Fatalf("anonymous browser: %d %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), wantLogin)
	}
	// A non-browser client gets 401 with the JSON error shape.
	resp, body := b.get(p.app("hello", "/"), "Accept", "application/json")
	var ae api.Error
	if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(body), &ae) != nil || !strings.Contains(ae.Message, "private") {
		t.Errorf("anonymous API client: %d %s", resp.StatusCode, body)
	}

	// The login page shows the local form.
	resp, body = b.get(wantLogin)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d %.200s", resp.StatusCode, body)
	}
	// Posting it sends the browser back to the app host with a ticket.
	loc := b.login(p, "alice@example.com", p.app("hello", "/dash?tab=1"))
	cb, err := url.Parse(loc)
	if err != nil || cb.Host != "hello.localhost:"+p.port || cb.Path != "/.rise/callback" ||
		cb.Query().Get("rd") != "/dash?tab=1" || cb.Query().Get("ticket") == "" {
		t.Fatalf("after login: %q", loc)
	}
	// The callback sets a host-only session cookie and goes to the path.
	resp, _ = b.get(loc)
	c := cookie(resp, edge.SessionCookie)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/dash?tab=1" {
		t.Fatalf("callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "" || c.Secure || c.Path != "/" ||
		time.Until(c.Expires) < time.Hour {
		t.Fatalf("app session cookie: %+v", c)
	}
	// The app answers, sees the user, and never sees rise's cookies.
	resp, body = b.get(p.app("hello", "/dash?tab=1"), "Cookie", "theme=dark", "X-Rise-User", "mallory")
	if resp.StatusCode != http.StatusOK || body != "app hello.localhost:"+p.port+" /dash?tab=1" {
		t.Fatalf("app with session: %d %q", resp.StatusCode, body)
	}
	seen := p.lastSeen()
	if ck := seen.Header.Get("Cookie"); strings.Contains(ck, "rise_") || !strings.Contains(ck, "theme=dark") {
		t.Errorf("app saw cookies %q", ck)
	}
	if seen.Header.Get("X-Rise-User") != "alice" || seen.Header.Get("X-Rise-Email") != "alice@example.com" {
		t.Errorf("app saw user headers %q %q", seen.Header.Get("X-Rise-User"), seen.Header.Get("X-Rise-Email"))
	}

	// The ticket is single use.
	resp, _ = b.get(loc)
	if resp.StatusCode != http.StatusUnauthorized || cookie(resp, edge.SessionCookie) != nil {
		t.Errorf("ticket replay: %d", resp.StatusCode)
	}

	// With a rise session, another app needs no second login; its ticket
	// is refused on any other host, and still works on its own.
	other := b.ticketFor(p, p.app("other", "/"))
	ou, _ := url.Parse(other)
	stolen := p.app("hello", "/.rise/callback?"+ou.RawQuery)
	if resp, _ := b.get(stolen); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("ticket for other.localhost used on hello.localhost: %d", resp.StatusCode)
	}
	if resp, _ := b.get(other); resp.StatusCode != http.StatusFound {
		t.Errorf("ticket on its own host after the refusal: %d", resp.StatusCode)
	}
	if resp, body := b.get(p.app("other", "/")); resp.StatusCode != http.StatusOK {
		t.Errorf("second app: %d %s", resp.StatusCode, body)
	}

	// An expired ticket is refused.
	late := b.ticketFor(p, p.app("hello", "/"))
	p.setClock(time.Now().Add(auth.TicketTTL + time.Minute))
	resp, body = b.get(late)
	p.setClock(time.Time{})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "expired") {
		t.Errorf("expired ticket: %d %s", resp.StatusCode, body)
	}

	// Open redirects are refused: by rise's login, and by the callback,
	// which only ever goes to a path on its own host.
	for _, rd := range []string{"https://evil.com/", "http://hello.localhost.evil.com/", "http://a.b.localhost:" + p.port + "/"} {
		resp, _ := b.get(p.publicURL + "/auth/login?rd=" + url.QueryEscape(rd))
		if resp.StatusCode == http.StatusFound && strings.Contains(resp.Header.Get("Location"), "ticket=") {
			t.Errorf("login rd=%s issued a ticket: %q", rd, resp.Header.Get("Location"))
		}
	}
	for _, rd := range []string{"https://evil.com/x", "//evil.com/x", "/\\evil.com", "javascript:alert(1)"} {
		cbURL := b.ticketFor(p, p.app("hello", "/"))
		u, _ := url.Parse(cbURL)
		q := u.Query()
		q.Set("rd", rd)
		u.RawQuery = q.Encode()
		resp, _ := b.get(u.String())
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
			t.Errorf("callback rd=%q: %d %q, want 302 to /", rd, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// Logout clears the app session and rise's own.
	resp, _ = b.get(p.app("hello", "/.rise/logout"))
	if c := cookie(resp, edge.SessionCookie); resp.StatusCode != http.StatusFound || c == nil || c.MaxAge >= 0 ||
		!strings.HasPrefix(resp.Header.Get("Location"), p.publicURL+"/auth/logout?rd=") {
		t.Fatalf("app logout: %d %q %+v", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	b.get(resp.Header.Get("Location"))
	if resp, _ := b.get(p.app("hello", "/")); resp.StatusCode != http.StatusFound {
		t.Errorf("after logout: %d, want a redirect to login", resp.StatusCode)
	}
}

// TestPrivateAppNoAccess: a logged-in user who may not use the project
// gets the same 404 as for a missing project.
func TestPrivateAppNoAccess(t *testing.T) {
	p := newPlatform(t, "127.0.0.1", "localhost")
	b := newBrowser(t)
	loc := b.login(p, "bob@example.com", p.app("hello", "/"))
	if resp, _ := b.get(loc); resp.StatusCode != http.StatusFound {
		t.Fatalf("bob's callback: %d", resp.StatusCode)
	}
	resp, body := b.get(p.app("hello", "/"))
	_, missing := b.get(p.app("nothing", "/"))
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "No project named 'hello'") ||
		strings.Replace(body, "hello", "nothing", 1) != missing {
		t.Errorf("no access: %d %q (missing: %q)", resp.StatusCode, body, missing)
	}
	if p.lastSeen() != nil {
		t.Error("the app saw a request from a user without access")
	}
	// The public project serves anyone.
	if resp, _ := newBrowser(t).get(p.app("open", "/")); resp.StatusCode != http.StatusOK {
		t.Errorf("public app: %d", resp.StatusCode)
	}
}

// TestRiseUnderAppsDomain: even with rise served under the apps domain,
// rise_session stays host-only (an ingress would forward a domain cookie,
// an API token, to every app); the app gets its own app-scoped session
// through a ticket and never sees rise's cookies.
func TestRiseUnderAppsDomain(t *testing.T) {
	p := newPlatform(t, "rise.apps.test", "apps.test")
	b := newBrowser(t)
	app := "http://hello.apps.test:" + p.port + "/x"
	resp, _ := b.get(app)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}
	loc := b.login(p, "alice@example.com", app)
	if !strings.HasPrefix(loc, "http://hello.apps.test:"+p.port+"/.rise/callback?") {
		t.Fatalf("login: %q, want the app's ticket callback", loc)
	}
	for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: "hello.apps.test:" + p.port}) {
		if c.Name == auth.SessionCookie {
			t.Fatalf("rise_session reaches the app host")
		}
	}
	if resp, _ = b.get(loc); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/x" {
		t.Fatalf("ticket callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = b.get(app)
	if resp.StatusCode != http.StatusOK || strings.Contains(p.lastSeen().Header.Get("Cookie"), "rise_") {
		t.Errorf("app after the ticket: %d, app saw %q", resp.StatusCode, p.lastSeen().Header.Get("Cookie"))
	}
}

// TestIngressAuth is ingress-nginx's auth subrequest: nginx calls rise with
// the original Cookie and Authorization headers.
func TestIngressAuth(t *testing.T) {
	p := newPlatform(t, "127.0.0.1", "localhost")
	b := newBrowser(t)
	// Alice's app session cookie for hello, as the browser holds it.
	resp, _ := b.get(b.login(p, "alice@example.com", p.app("hello", "/")))
	appCookie := cookie(resp, edge.SessionCookie)
	if appCookie == nil {
		t.Fatal("no app session cookie")
	}
	// Alice's rise_session (host-only on rise; a parent-domain cookie in a
	// shared-cookie ingress set-up) is also a rise token for the API.
	var riseToken, bobToken string
	for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: "127.0.0.1:" + p.port}) {
		if c.Name == auth.SessionCookie {
			riseToken = c.Value
		}
	}
	bb := newBrowser(t)
	bb.login(p, "bob@example.com", p.publicURL+"/")
	for _, c := range bb.c.Jar.Cookies(&url.URL{Scheme: "http", Host: "127.0.0.1:" + p.port}) {
		if c.Name == auth.SessionCookie {
			bobToken = c.Value
		}
	}
	if riseToken == "" || bobToken == "" {
		t.Fatal("no rise session tokens")
	}

	for _, tc := range []struct {
		name, project string
		hdr           []string
		want          int
		user          string
		authz         string // the Authorization ingress-nginx passes to the app
	}{
		{"app session cookie", "hello", []string{"Cookie", edge.SessionCookie + "=" + appCookie.Value}, 200, "alice", ""},
		{"app's own Authorization passes", "hello", []string{"Cookie", edge.SessionCookie + "=" + appCookie.Value, "Authorization", "Basic YXBwOnB3"}, 200, "alice", "Basic YXBwOnB3"},
		{"shared rise_session cookie", "hello", []string{"Cookie", auth.SessionCookie + "=" + riseToken}, 200, "alice", ""},
		{"bearer token is not passed on", "other", []string{"Authorization", "Bearer " + riseToken}, 200, "alice", ""},
		{"anonymous", "hello", nil, 401, "", ""},
		{"app cookie of another host", "other", []string{"Cookie", edge.SessionCookie + "=" + appCookie.Value}, 401, "", ""},
		{"tampered cookie", "hello", []string{"Cookie", edge.SessionCookie + "=" + appCookie.Value + "x"}, 401, "", ""},
		{"bad bearer", "hello", []string{"Authorization", "Bearer nope"}, 401, "", ""},
		{"app session is no API token", "hello", []string{"Authorization", "Bearer " + appCookie.Value}, 401, "", ""},
		{"user without access", "hello", []string{"Cookie", auth.SessionCookie + "=" + bobToken}, 403, "", ""},
		{"unknown project", "nothing", []string{"Cookie", auth.SessionCookie + "=" + bobToken}, 403, "", ""},
		{"public project, anonymous", "open", nil, 200, "", ""},
		{"no project", "", nil, 400, "", ""},
	} {
		resp, body := newBrowser(t).get(p.publicURL+"/api/v1/ingress/auth?project="+url.QueryEscape(tc.project),
			append([]string{"Accept", "*/*"}, tc.hdr...)...)
		if resp.StatusCode != tc.want || resp.Header.Get("X-Rise-User") != tc.user {
			t.Errorf("%s: %d X-Rise-User %q, want %d %q (%s)", tc.name, resp.StatusCode, resp.Header.Get("X-Rise-User"), tc.want, tc.user, body)
		}
		if tc.user != "" && resp.Header.Get("X-Rise-Email") != tc.user+"@example.com" {
			t.Errorf("%s: X-Rise-Email %q", tc.name, resp.Header.Get("X-Rise-Email"))
		}
		if got := resp.Header.Get("Authorization"); got != tc.authz {
			t.Errorf("%s: Authorization for the app %q, want %q", tc.name, got, tc.authz)
		}
	}
}

// TestAppsNeverSeeRiseCredentials (#13): the credential the edge consumed
// (a rise token in Authorization, rise's cookies) and client-supplied
// X-Rise-* headers never reach an app, private or public; the app gets only
// the identity headers the edge sets.
func TestAppsNeverSeeRiseCredentials(t *testing.T) {
	p := newPlatform(t, "127.0.0.1", "localhost")
	b := newBrowser(t)
	b.login(p, "alice@example.com", p.publicURL+"/")
	var riseToken string
	for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: "127.0.0.1:" + p.port}) {
		if c.Name == auth.SessionCookie {
			riseToken = c.Value
		}
	}
	// Already logged in to rise: the way to the app is a ticket.
	resp, _ := b.get(b.ticketFor(p, p.app("hello", "/")))
	appCookie := cookie(resp, edge.SessionCookie)
	if riseToken == "" || appCookie == nil {
		t.Fatal("no rise token or app session")
	}
	forged := []string{"X-Rise-User", "mallory", "X-Rise-Admin", "true"}
	for _, tc := range []struct {
		name, project string
		hdr           []string
		wantUser      string
	}{
		{"private, bearer rise token", "hello", []string{"Authorization", "Bearer " + riseToken}, "alice"},
		{"private, app session cookie", "hello", []string{"Cookie", edge.SessionCookie + "=" + appCookie.Value + "; theme=dark"}, "alice"},
		{"private, shared rise cookie", "hello", []string{"Cookie", auth.SessionCookie + "=" + riseToken + "; theme=dark"}, "alice"},
		{"public, bearer rise token", "open", []string{"Authorization", "Bearer " + riseToken}, ""},
		{"public, rise cookies", "open", []string{"Cookie", auth.SessionCookie + "=" + riseToken + "; " + edge.SessionCookie + "=" + appCookie.Value + "; theme=dark"}, ""},
	} {
		hdr := append(append([]string{"Accept", "application/json"}, forged...), tc.hdr...)
		resp, body := newBrowser(t).get(p.app(tc.project, "/x"), hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
			continue
		}
		seen := p.lastSeen()
		if a := seen.Header.Get("Authorization"); a != "" {
			t.Errorf("%s: app saw Authorization %q", tc.name, a)
		}
		ck := seen.Header.Get("Cookie")
		if strings.Contains(ck, "rise_") || strings.Contains(ck, riseToken) || strings.Contains(ck, appCookie.Value) {
			t.Errorf("%s: app saw cookies %q", tc.name, ck)
		}
		if strings.Contains(tc.hdr[1], "theme=dark") && !strings.Contains(ck, "theme=dark") {
			t.Errorf("%s: the app's own cookie was dropped: %q", tc.name, ck)
		}
		if u := seen.Header.Get("X-Rise-User"); u != tc.wantUser {
			t.Errorf("%s: app saw X-Rise-User %q, want %q", tc.name, u, tc.wantUser)
		}
		if seen.Header.Get("X-Rise-Admin") != "" {
			t.Errorf("%s: a forged X-Rise-Admin reached the app", tc.name)
		}
		for k, v := range seen.Header {
			if strings.Contains(strings.Join(v, " "), riseToken) {
				t.Errorf("%s: the rise token reached the app in %s", tc.name, k)
			}
		}
	}
	// An app's own Authorization scheme passes through a public app.
	if resp, _ := newBrowser(t).get(p.app("open", "/"), "Authorization", "Bearer app-own-token"); resp.StatusCode != http.StatusOK ||
		p.lastSeen().Header.Get("Authorization") != "Bearer app-own-token" {
		t.Errorf("public app's own Authorization: %d %q", resp.StatusCode, p.lastSeen().Header.Get("Authorization"))
	}
}
