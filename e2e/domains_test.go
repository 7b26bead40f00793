package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pebbletest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/domains"
	"github.com/riseplatform/rise/server/servertest"
)

// The rise binary's domain commands against a real server whose DNS checks
// ask pebble-challtestsrv's DNS server.
func TestDomainCommands(t *testing.T) {
	dns := pebbletest.Start(t, pebbletest.Options{HTTPPort: 1, TLSPort: 2})
	hash, err := bcrypt.GenerateFromPassword([]byte("pw-pw-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.New(t, func(c *config.Server, d *server.Deps) {
		c.Domain, c.AppScheme = "rise.dev", "https"
		s, err := auth.New(context.Background(), &config.Auth{Local: &config.LocalAuth{Users: []*config.LocalUser{
			{Email: "alice@rise.dev", PasswordHash: string(hash)}}}}, d.Store, auth.Options{
			PublicURL: "http://rise.test", DataDir: t.TempDir(), Listen: "127.0.0.1:0", Log: hclog.NewNullLogger(),
		})
		if err != nil {
			t.Fatal(err)
		}
		d.Auth = s
		svc, err := domains.New(domains.Options{Store: d.Store, Rules: domains.Rules{AppsDomain: "rise.dev", OwnHost: "rise.test"},
			Checker: domains.NewChecker(dns.DNS, "", []string{"127.0.0.1"})})
		if err != nil {
			t.Fatal(err)
		}
		d.Mounts = append(d.Mounts, svc)
	})
	cli := newCLIEnv(t, nil)
	if r := cli.rise(t, "login", "--url", srv.URL, "--email", "alice@rise.dev", "--password", "pw-pw-pw"); r.Code != 0 {
		t.Fatalf("login: %d %q", r.Code, r.Err)
	}
	if r := cli.rise(t, "p", "c", "shop"); r.Code != 0 {
		t.Fatalf("create: %d %q", r.Code, r.Err)
	}
	r := cli.rise(t, "dom", "a", "shop", "*.shop.example")
	if r.Code == 0 || !strings.Contains(r.Err, "Wildcard domains") {
		t.Errorf("wildcard: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "domain", "add", "shop", "www.shop.example", "--primary")
	tok := regexp.MustCompile(`TXT +_rise-challenge\.www\.shop\.example +(rise-verify-[a-z0-9]+)`).FindStringSubmatch(r.Err)
	if r.Code != 0 || tok == nil || !strings.Contains(r.Err, "rise domain verify shop www.shop.example") {
		t.Fatalf("add: %d\n%s%s", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "domain", "verify", "shop", "www.shop.example")
	if r.Code == 0 || !strings.Contains(r.Err, "_rise-challenge.www.shop.example") {
		t.Errorf("verify without the record: %d %q", r.Code, r.Err)
	}
	dns.SetTXT(t, "_rise-challenge.www.shop.example", tok[1])
	if r = cli.rise(t, "domain", "verify", "shop", "www.shop.example"); r.Code != 0 || !strings.Contains(r.Err, "now served at https://www.shop.example") {
		t.Fatalf("verify: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "dom", "ls", "shop")
	if r.Code != 0 || !regexp.MustCompile(`(?m)^www\.shop\.example +verified +yes +https://www\.shop\.example$`).MatchString(r.Out) ||
		!strings.Contains(r.Err, "App URL: https://www.shop.example") {
		t.Errorf("ls: %d\n%s%s", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "dom", "ls", "shop", "-o", "json")
	var ds []api.Domain
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &ds) != nil || len(ds) != 1 || !ds[0].Verified || !ds[0].Primary {
		t.Errorf("ls -o json: %d %q", r.Code, r.Out)
	}
	if r = cli.rise(t, "dom", "rm", "shop", "www.shop.example", "--yes"); r.Code != 0 || !strings.Contains(r.Err, "Removed www.shop.example") {
		t.Errorf("rm: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "dom", "rm", "shop", "www.shop.example", "--yes"); r.Code == 0 || !strings.Contains(r.Err, "not found") {
		t.Errorf("rm twice: %d %q", r.Code, r.Err)
	}
}
