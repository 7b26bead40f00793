package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
)

// TestAuditCLI: `rise audit PROJECT` prints the project's events as a
// table (and JSON with -o json) to its owner; another user gets the
// not-found exit code, and only admins may use --all.
func TestAuditCLI(t *testing.T) {
	srv := seedServer(t)
	ctx := context.Background()
	alice := login(t, srv, "alice@rise.dev")
	bob := login(t, srv, "bob@rise.dev")
	admin := login(t, srv, "root@rise.dev")
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Client.UpdateProject(ctx, "shop", api.UpdateProjectRequest{Visibility: new("private")}); err != nil {
		t.Fatal(err)
	}
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})

	r := cli.rise(t, "audit", "shop")
	lines := strings.Split(strings.TrimRight(r.Out, "\n"), "\n")
	if r.Code != 0 || len(lines) != 3 {
		t.Fatalf("rise audit shop: %d %q %q", r.Code, r.Out, r.Err)
	}
	if !regexp.MustCompile(`^TIME +ACTOR +ACTION +TARGET +STATUS +IP$`).MatchString(lines[0]) {
		t.Errorf("header: %q", lines[0])
	}
	for i, want := range []string{
		`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +user:alice +project\.update +/projects/shop +200 success +127\.0\.0\.1$`,
		`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +user:alice +project\.create +/projects/shop +201 success +127\.0\.0\.1$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i+1]) {
			t.Errorf("row %d: %q does not match %s", i+1, lines[i+1], want)
		}
	}

	r = cli.rise(t, "audit", "shop", "-o", "json", "--limit", "1")
	var evs []api.AuditEvent
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &evs) != nil || len(evs) != 1 || evs[0].Action != "project.update" ||
		evs[0].RequestID == "" {
		t.Errorf("json: %d %q %q", r.Code, r.Out, r.Err)
	}
	if r = cli.rise(t, "audit", "--all"); r.Code != 5 || !strings.Contains(r.Err, "Only admins") {
		t.Errorf("--all as a user: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "audit", "shop", "--all"); r.Code != 2 {
		t.Errorf("PROJECT and --all: %d %q", r.Code, r.Err)
	}

	// Someone else's project looks missing (exit 6), like `rise p s`.
	other := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": bob.Token})
	if r = other.rise(t, "audit", "shop"); r.Code != 6 || !strings.Contains(r.Err, "Project 'shop' not found.") {
		t.Errorf("bob: %d %q", r.Code, r.Err)
	}
	root := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": admin.Token})
	if r = root.rise(t, "audit", "--all", "-q"); r.Code != 0 || len(strings.Split(strings.TrimSpace(r.Out), "\n")) != 2 {
		t.Errorf("admin --all: %d %q %q", r.Code, r.Out, r.Err)
	}
}

// TestAuditRealServer checks the wiring of `rise server` (server/wire): the
// auth service records logins and failed logins in the same audit log the
// API middleware writes, with source address and request id, and neither
// the password nor the token is in it.
func TestAuditRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a rise server")
	}
	const password = "audit-me-not-42"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := startSessionServer(t, freePort(t), fmt.Sprintf(`auth {
  local {
    user "ops@rise.dev" {
      password_hash = %q
      admin         = true
    }
  }
}
audit { retention = "30d" }
`, hash))
	cli := newCLIEnv(t, nil)
	if r := cli.rise(t, "login", "--url", srv.URL, "--email", "ops@rise.dev", "--password", "not-"+password); r.Code != 4 {
		t.Fatalf("wrong password: %d %q", r.Code, r.Err)
	}
	if r := cli.rise(t, "login", "--url", srv.URL, "--email", "ops@rise.dev", "--password", password); r.Code != 0 {
		t.Fatalf("login: %d %q", r.Code, r.Err)
	}
	if r := cli.rise(t, "p", "c", "audited"); r.Code != 0 {
		t.Fatalf("create: %d %q", r.Code, r.Err)
	}
	r := cli.rise(t, "audit", "--all", "-o", "json")
	var evs []api.AuditEvent
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &evs) != nil {
		t.Fatalf("audit --all: %d %q %q", r.Code, r.Out, r.Err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+" "+e.Actor)
		if e.SourceIP != "127.0.0.1" || e.RequestID == "" {
			t.Errorf("incomplete event: %+v", e)
		}
	}
	want := "project.create user:ops,auth.login user:ops,auth.login_failed anonymous"
	if strings.Join(got, ",") != want {
		t.Errorf("events %q, want %q", strings.Join(got, ","), want)
	}
	b, err := os.ReadFile(filepath.Join(cli.Config, "rise", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var saved struct{ Token string }
	if err := json.Unmarshal(b, &saved); err != nil || saved.Token == "" {
		t.Fatalf("config.json: %s", b)
	}
	if strings.Contains(r.Out, password) || strings.Contains(r.Out, saved.Token) {
		t.Errorf("the audit log shows a secret:\n%s", r.Out)
	}
}
