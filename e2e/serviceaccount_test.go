package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/environments"
	"golang.org/x/crypto/bcrypt"
)

func TestServiceAccounts(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw-pw-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := authServer(t, &config.Auth{
		Local:          &config.LocalAuth{Users: []*config.LocalUser{{Email: "alice@rise.dev", PasswordHash: string(hash)}}},
		TrustedIssuers: []*config.TrustedIssuer{{Name: "gitlab", Issuer: "https://gitlab.example.com", Audience: "rise"}},
	})
	cli := newCLIEnv(t, nil)
	if r := cli.rise(t, "login", "--url", srv.URL, "--email", "alice@rise.dev", "--password", "pw-pw-pw"); r.Code != 0 {
		t.Fatalf("login: %d %q", r.Code, r.Err)
	}
	if r := cli.rise(t, "p", "c", "shop"); r.Code != 0 {
		t.Fatalf("create: %d %q", r.Code, r.Err)
	}
	r := cli.rise(t, "sa", "c", "shop", "--issuer", "gitlab", "--claim", "project_path=acme/shop", "--claim", "ref=refs/heads/*", "-o", "json")
	var sa api.ServiceAccount
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &sa) != nil || sa.ID == "" || sa.Claims["ref"] != "refs/heads/*" {
		t.Fatalf("sa create: %d %q %q", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "sa", "ls", "shop")
	if r.Code != 0 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(sa.ID)+` +\S+ +unprotected +project_path=acme/shop,ref=refs/heads/\*$`).MatchString(r.Out) {
		t.Errorf("sa ls: %d\n%s%s", r.Code, r.Out, r.Err)
	}
	// Limited to an environment: it must exist; the list shows the limit.
	if r = cli.rise(t, "sa", "c", "shop", "--issuer", "gitlab", "--claim", "project_path=acme/shop", "--environment", "staging"); r.Code == 0 ||
		!strings.Contains(r.Err, "no environment 'staging'") {
		t.Errorf("sa create for a missing environment: %d %q", r.Code, r.Err)
	}
	// This server mounts auth only (no environments API): make the environment in the store.
	shop, err := srv.Store.ProjectByName(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := environments.New(srv.Store.Pool()).Create(context.Background(), environments.Environment{ProjectID: shop.ID, Name: "staging"}); err != nil {
		t.Fatal(err)
	}
	r = cli.rise(t, "sa", "c", "shop", "--issuer", "gitlab", "--claim", "project_path=acme/shop", "--environment", "staging", "-o", "json")
	var limited api.ServiceAccount
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &limited) != nil || len(limited.Environments) != 1 || limited.Environments[0] != "staging" {
		t.Fatalf("sa create --environment: %d %q %q", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "sa", "ls", "shop")
	if r.Code != 0 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(limited.ID)+` +\S+ +staging +project_path=acme/shop$`).MatchString(r.Out) {
		t.Errorf("sa ls with a limited account: %d\n%s%s", r.Code, r.Out, r.Err)
	}
	if r = cli.rise(t, "sa", "rm", "shop", limited.ID, "--yes"); r.Code != 0 {
		t.Errorf("sa rm: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "sa", "c", "shop", "--issuer", "gitlab"); r.Code != 2 {
		t.Errorf("sa create without claims: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "sa", "rm", "shop", sa.ID, "--yes"); r.Code != 0 || !strings.HasPrefix(r.Err, "Deleted service account") {
		t.Errorf("sa rm: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "sa", "ls", "shop", "-o", "json"); r.Code != 0 || strings.TrimSpace(r.Out) != "[]" {
		t.Errorf("sa ls after delete: %d %q", r.Code, r.Out)
	}
}
