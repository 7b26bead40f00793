package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
)

// TestProjectSections: the owner sees the environments, deployment groups,
// variables (secret and protected values masked, never present in the
// HTML), custom domains and access sections; another user gets the same
// 404 page as before. (Service accounts, a built-in section, are served by
// server/auth, which this test server's token authenticator replaces.)
func TestProjectSections(t *testing.T) {
	e := env(t)
	alice, bob := e.User(t, "alice@rise.test", false), e.User(t, "bob@rise.test", false)
	ctx := context.Background()
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "shop", Access: api.AccessPrivate}); err != nil {
		t.Fatal(err)
	}
	const secret, protected = "s3cr3t-7f1c0a9e4b2d", "pr0t3ct3d-9a8b7c6d5e"
	if _, err := alice.Client.SetVariables(ctx, "shop", &api.SetVariablesRequest{Variables: []api.VariableInput{
		{Name: "LOG_LEVEL", Value: "debug-plain-value"},
		{Name: "API_TOKEN", Value: secret, Kind: api.KindSecret},
		{Name: "DB_PASSWORD", Value: protected, Kind: api.KindProtected},
	}}); err != nil {
		t.Fatal(err)
	}
	// The secret is stored: an owner reveals it through the API.
	if v, err := alice.Client.GetVariable(ctx, "shop", "API_TOKEN", true); err != nil || v.Value == nil || *v.Value != secret {
		t.Fatalf("reveal: %+v %v", v, err)
	}
	if _, err := alice.Client.CreateEnvironment(ctx, "shop", api.EnvironmentRequest{Name: "staging", Protected: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: "shop.example.com", Primary: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Client.AddAppUser(ctx, "shop", "user:bob"); err != nil {
		t.Fatal(err)
	}

	resp, page := browser(e, alice)("GET", "/projects/shop", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("owner's project page: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		`<h2 id="environments-h">Environments</h2>`, `<th scope="row">production <span class="tag">default</span></th>`,
		`<th scope="row">staging</th><td>no</td><td>yes</td>`,
		`<h2 id="groups-h">Deployment groups</h2>`, "No live deployments yet.",
		`<h2 id="variables-h">Variables</h2>`, "<code>LOG_LEVEL</code>", "<code>debug-plain-value</code>",
		"<code>API_TOKEN</code></th><td>secret</td><td><span aria-label=\"hidden secret value\">" + api.Masked + "</span>",
		"<code>DB_PASSWORD</code></th><td>protected</td><td><span aria-label=\"hidden protected value\">" + api.Masked + "</span>",
		`<h2 id="domains-h">Custom domains</h2>`, `<th scope="row">shop.example.com</th><td><span class="tag">pending</span>`, "<td>primary</td>",
		`<h2 id="access-h">Access</h2>`, "<strong>private</strong>", `<th scope="row">user:bob</th><td>bob@rise.test</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the project page lacks %q", want)
		}
	}
	if strings.Contains(page, secret) || strings.Contains(page, protected) {
		t.Fatal("a secret or protected value is in the project page's HTML")
	}
	if len(page) > 100<<10 {
		t.Errorf("the project page is %d bytes", len(page))
	}

	// Bob is an app user: he may use the app, not see the project.
	b := browser(e, bob)
	resp, theirs := b("GET", "/projects/shop", nil)
	_, missing := b("GET", "/projects/nosuch", nil)
	if resp.StatusCode != 404 || strings.ReplaceAll(theirs, "shop", "P") != strings.ReplaceAll(missing, "nosuch", "P") {
		t.Fatalf("bob on alice's project: %d\n%s", resp.StatusCode, theirs)
	}
	if strings.Contains(theirs, "API_TOKEN") || strings.Contains(theirs, "shop.example.com") {
		t.Error("bob's 404 page shows the project's sections")
	}
}

func ptr[T any](v T) *T { return &v }
