package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
)

// TestAuditCLI: `rise audit PROJECT` prints the project's events as a
// table (and JSON with -o json) to its owner; another user gets the
// not-found exit code, and only admins may use --all.
func TestAuditCLI(t *testing.T) {
	srv := seedServer(t)
	ctx := context.Background()
	alice := srv.User(t, "alice@rise.dev", false)
	bob := srv.User(t, "bob@rise.dev", false)
	admin := srv.User(t, "root@rise.dev", true)
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
