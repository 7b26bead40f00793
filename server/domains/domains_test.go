package domains_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/domains"
	"github.com/riseplatform/rise/server/servertest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func status(err error) int {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func newEnv(t *testing.T, limit int) *servertest.Env {
	t.Helper()
	return servertest.New(t, func(cfg *config.Server, d *server.Deps) {
		cfg.PublicURL = "https://rise.example.com"
		svc, err := domains.New(domains.Options{Store: d.Store, Limit: limit,
			Rules:   domains.Rules{AppsDomain: "rise.test", OwnHost: "rise.example.com"},
			Checker: domains.NewChecker("", "edge.example.com", []string{"203.0.113.7"})})
		if err != nil {
			t.Fatal(err)
		}
		d.Mounts = append(d.Mounts, svc)
	})
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, 3)
	alice := env.User(t, "alice@example.com", false)
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want string }{
		{"*.example.com", "Wildcard"},
		{"example", "single label"},
		{"shop.rise.test", "apps domain"},
		{"rise.test", "apps domain"},
		{"rise.example.com", "rise's own host"},
		{"203.0.113.9", "IP address"},
		{"https://www.example.com/", "host name only"},
		{"bad_name.example.com", "not a valid domain name"},
		{"-bad.example.com", "not a valid domain name"},
		{strings.Repeat("a", 64) + ".example.com", "not a valid domain name"},
		{"", "required"},
	} {
		_, err := alice.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: c.in})
		if status(err) != 400 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("add %q: %v, want 400 mentioning %q", c.in, err, c.want)
		}
	}
	// Internationalized names are stored in their IDNA form.
	d, err := alice.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: "Bücher.Example"})
	if err != nil || d.Domain != "xn--bcher-kva.example" || d.Unicode != "bücher.example" || d.URL != "https://xn--bcher-kva.example" {
		t.Fatalf("IDNA: %+v %v", d, err)
	}
	if d.DNS[0] != (api.DNSRecord{Type: "TXT", Name: "_rise-challenge.xn--bcher-kva.example", Value: d.DNS[0].Value, Note: d.DNS[0].Note}) ||
		!strings.HasPrefix(d.DNS[0].Value, "rise-verify-") || d.DNS[1].Type != "CNAME" || d.DNS[1].Value != "edge.example.com" ||
		d.DNS[2].Type != "A" || d.DNS[2].Value != "203.0.113.7" {
		t.Errorf("DNS records: %+v", d.DNS)
	}
	if _, err := alice.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: "bücher.example"}); status(err) != 409 {
		t.Errorf("adding the same domain twice: %v", err)
	}
	// The path takes either form.
	if _, err := alice.Client.UpdateDomain(ctx, "shop", "bücher.example", api.UpdateDomainRequest{Primary: ptr(true)}); err != nil {
		t.Errorf("primary by Unicode name: %v", err)
	}
	// The per-project limit.
	for _, n := range []string{"a.example.com", "b.example.com"} {
		if _, err := alice.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: "c.example.com"}); status(err) != 422 || !strings.Contains(err.Error(), "limit") {
		t.Errorf("over the limit: %v", err)
	}
	// One primary at a time.
	if _, err := alice.Client.UpdateDomain(ctx, "shop", "a.example.com", api.UpdateDomainRequest{Primary: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	l, err := alice.Client.ListDomains(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var primaries []string
	for _, d := range l.Domains {
		if d.Primary {
			primaries = append(primaries, d.Domain)
		}
	}
	if len(l.Domains) != 3 || len(primaries) != 1 || primaries[0] != "a.example.com" {
		t.Errorf("domains %+v, primaries %v", l.Domains, primaries)
	}
}

// A second user sees another project's domains exactly like missing ones.
func TestHostileNeighbour(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, 0)
	alice := env.User(t, "alice@example.com", false)
	mallory := env.User(t, "mallory@example.com", false)
	for _, c := range []struct {
		who  *servertest.Caller
		name string
	}{{alice, "shop"}, {mallory, "evil"}} {
		if _, err := c.who.Client.CreateProject(ctx, api.CreateProjectRequest{Name: c.name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: "shop.example.com"}); err != nil {
		t.Fatal(err)
	}
	missing := func(what string, err error, wantMsg string) {
		t.Helper()
		if status(err) != 404 || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("%s: %v, want 404 %q", what, err, wantMsg)
		}
	}
	_, err := mallory.Client.ListDomains(ctx, "shop")
	missing("list", err, "Project 'shop' not found")
	_, err = mallory.Client.ListDomains(ctx, "nope")
	missing("list of a missing project", err, "Project 'nope' not found")
	_, err = mallory.Client.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: "x.example.com"})
	missing("add", err, "Project 'shop' not found")
	missing("remove", mallory.Client.RemoveDomain(ctx, "shop", "shop.example.com"), "Project 'shop' not found")
	_, err = mallory.Client.VerifyDomain(ctx, "shop", "shop.example.com")
	missing("verify", err, "Project 'shop' not found")
	_, err = mallory.Client.UpdateDomain(ctx, "shop", "shop.example.com", api.UpdateDomainRequest{Primary: ptr(true)})
	missing("update", err, "Project 'shop' not found")
	// Through her own project: alice's domain is simply not there.
	missing("remove through her own project", mallory.Client.RemoveDomain(ctx, "evil", "shop.example.com"), "Domain 'shop.example.com' not found in project 'evil'")
	_, err = mallory.Client.VerifyDomain(ctx, "evil", "shop.example.com")
	missing("verify through her own project", err, "not found in project 'evil'")
	// A pending (unverified) claim does not block anyone: mallory may
	// claim the name too, but only a TXT record proves it.
	d, err := mallory.Client.AddDomain(ctx, "evil", api.AddDomainRequest{Domain: "shop.example.com"})
	if err != nil {
		t.Fatalf("a second, unverified claim: %v", err)
	}
	l, err := alice.Client.ListDomains(ctx, "shop")
	if err != nil || len(l.Domains) != 1 || l.Domains[0].DNS[0].Value == d.DNS[0].Value {
		t.Errorf("alice's domains %+v %v: tokens must differ per claim", l, err)
	}
	// Alice still owns hers; removing it works.
	if err := alice.Client.RemoveDomain(ctx, "shop", "shop.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Anonymous().ListDomains(ctx, "shop"); status(err) != 401 {
		t.Errorf("anonymous list: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
