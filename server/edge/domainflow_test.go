package edge_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/riseplatform/rise/server/edge"
)

// A private app on a verified custom domain: the login round trip goes
// through rise and back to the custom domain with a ticket, and the app
// answers there; a removed domain stops routing at once.
func TestPrivateAppOnCustomDomain(t *testing.T) {
	p := newPlatform(t, "127.0.0.1", "localhost")
	ctx := context.Background()
	if _, err := p.st.Pool().Exec(ctx, `INSERT INTO domains (project_id, domain, token, verified_at)
		SELECT id, 'hello.example', 't', now() FROM projects WHERE name = 'hello'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the verified domain in the route table", func() bool { return p.routes.IsDomain("hello.example") })
	app := "http://hello.example:" + p.port + "/dash?tab=1"
	b := newBrowser(t)
	resp, _ := b.get(app)
	wantLogin := p.publicURL + "/auth/login?rd=" + url.QueryEscape(app)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != wantLogin {
		t.Fatalf("anonymous browser: %d %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), wantLogin)
	}
	loc := b.login(p, "alice@example.com", app)
	cb, err := url.Parse(loc)
	if err != nil || cb.Host != "hello.example:"+p.port || cb.Path != "/.rise/callback" || cb.Query().Get("ticket") == "" {
		t.Fatalf("after login: %q", loc)
	}
	resp, _ = b.get(loc)
	if c := cookie(resp, edge.SessionCookie); c == nil || resp.Header.Get("Location") != "/dash?tab=1" {
		t.Fatalf("callback: %d %q %+v", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	resp, body := b.get(app)
	if resp.StatusCode != http.StatusOK || body != "app hello.example:"+p.port+" /dash?tab=1" {
		t.Fatalf("app on the custom domain: %d %q", resp.StatusCode, body)
	}
	// Bob has no access: the same 404 as for a missing project.
	bob := newBrowser(t)
	loc = bob.login(p, "bob@example.com", app)
	if resp, _ = bob.get(loc); resp.StatusCode != http.StatusFound {
		t.Fatalf("bob's callback: %d", resp.StatusCode)
	}
	if resp, _ = bob.get(app); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob on alice's private custom domain: %d", resp.StatusCode)
	}
	// Removed: no route, at once.
	if _, err := p.st.Pool().Exec(ctx, `DELETE FROM domains WHERE domain = 'hello.example'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed domain to leave the table", func() bool { return !p.routes.IsDomain("hello.example") })
	if resp, body = b.get(app); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removed domain: %d %q", resp.StatusCode, body)
	}
}
