package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
)

// TestJSONAndExitCodes checks -o json shapes and the exit code contract
// against the real server.
func TestJSONAndExitCodes(t *testing.T) {
	srv := seedServer(t)
	ctx := context.Background()
	alice := login(t, srv, "alice@rise.dev")
	bob := login(t, srv, "bob@rise.dev")
	if _, err := bob.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "bobs-app"}); err != nil {
		t.Fatal(err)
	}
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})

	r := cli.rise(t, "p", "ls", "-o", "json")
	if r.Code != 0 || strings.TrimSpace(r.Out) != "[]" {
		t.Errorf("empty list json: %d %q %q", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "project", "create", "shop", "-o", "json")
	var p api.Project
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &p) != nil || p.Name != "shop" || p.Owner != "user:alice" || p.URL != "https://shop.rise.dev" || p.Visibility != "public" {
		t.Fatalf("create json: %d %q %q", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "p", "ls", "-o", "json")
	var ps []api.Project
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &ps) != nil || len(ps) != 1 || ps[0].Name != "shop" {
		t.Fatalf("list json: %d %q", r.Code, r.Out)
	}
	if r = cli.rise(t, "p", "ls", "-q"); r.Code != 0 || r.Out != "shop\n" {
		t.Errorf("p ls -q: %d %q", r.Code, r.Out)
	}
	r = cli.rise(t, "p", "show", "shop")
	if r.Code != 0 || !regexp.MustCompile(`(?m)^URL: +https://shop\.rise\.dev$`).MatchString(r.Out) {
		t.Errorf("show: %d %q %q", r.Code, r.Out, r.Err)
	}

	// Someone else's project looks exactly like a missing one: exit 6.
	for _, name := range []string{"bobs-app", "nothing-here"} {
		r = cli.rise(t, "p", "s", name, "-o", "json")
		var je struct {
			Error    string `json:"error"`
			ExitCode int    `json:"exit_code"`
		}
		if r.Code != 6 || json.Unmarshal([]byte(r.Out), &je) != nil || je.ExitCode != 6 || je.Error == "" {
			t.Errorf("show %s json: exit %d out %q err %q", name, r.Code, r.Out, r.Err)
		}
	}
	// Duplicate name → a plain error (1) with the server's message.
	r = cli.rise(t, "p", "c", "shop")
	if r.Code != 1 || r.Err == "" {
		t.Errorf("duplicate: %d %q", r.Code, r.Err)
	}
	// Usage: 2; no token: 4.
	if r = cli.rise(t, "p", "c", "a", "b"); r.Code != 2 {
		t.Errorf("two names: %d %q", r.Code, r.Err)
	}
	noTok := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL})
	if r = noTok.rise(t, "p", "ls"); r.Code != 4 || !strings.Contains(r.Err, "run `rise login`") {
		t.Errorf("no token: %d %q", r.Code, r.Err)
	}

	// Update and delete.
	r = cli.rise(t, "p", "u", "shop", "--visibility", "private")
	if r.Code != 0 || r.Err != "Updated project 'shop': private visibility, owned by user:alice.\n" {
		t.Errorf("update: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "p", "rm", "shop"); r.Code != 2 || !strings.Contains(r.Err, "--yes") {
		t.Errorf("delete without --yes and without a TTY: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "p", "rm", "shop", "--yes"); r.Code != 0 || r.Err != "Deleted project 'shop'.\n" {
		t.Errorf("delete: %d %q", r.Code, r.Err)
	}
}

func TestTeams(t *testing.T) {
	srv := seedServer(t)
	alice := login(t, srv, "alice@rise.dev")
	login(t, srv, "bob@rise.dev")
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})

	r := cli.rise(t, "t", "c", "devops", "--member", "bob@rise.dev")
	if r.Code != 0 || r.Err != "Created team 'devops' with owners alice and members bob.\n" {
		t.Fatalf("team create: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "t", "ls")
	want := "TEAM            OWNERS                  MEMBERS\n" +
		"devops          alice                   bob\n"
	if r.Code != 0 || r.Out != want {
		t.Errorf("team ls:\n%q\nwant\n%q (%s)", r.Out, want, r.Err)
	}
	r = cli.rise(t, "t", "u", "devops", "--add-owner", "bob", "--rename", "platform")
	if r.Code != 0 || !strings.HasPrefix(r.Err, "Renamed team 'devops' to 'platform'") {
		t.Errorf("team update: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "t", "s", "platform", "-o", "json")
	var tm api.Team
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &tm) != nil || tm.Name != "platform" || len(tm.Owners) != 2 {
		t.Errorf("team show json: %d %q", r.Code, r.Out)
	}
	// The seed's suggestion for a typo'd team when creating a project.
	r = cli.rise(t, "p", "c", "x", "--owner", "team:platfrm")
	if !strings.HasSuffix(r.Err, "Did you mean 'platform'?\n") || r.Code == 0 {
		t.Errorf("typo: %d %q", r.Code, r.Err)
	}
	if r = cli.rise(t, "t", "rm", "platform", "-y"); r.Code != 0 {
		t.Errorf("team delete: %d %q", r.Code, r.Err)
	}
}

// TestProjectFromAppConfig takes the project from .rise.toml / rise.hcl.
func TestProjectFromAppConfig(t *testing.T) {
	srv := seedServer(t)
	alice := login(t, srv, "alice@rise.dev")
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})
	if err := os.WriteFile(filepath.Join(cli.Dir, ".rise.toml"), []byte("project = \"secret-app\"\n\n[build]\nbackend = \"buildpacks\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cli.rise(t, "p", "c"); r.Code != 0 || !strings.HasPrefix(r.Err, "Created project 'secret-app'") {
		t.Fatalf("create from .rise.toml: %d %q", r.Code, r.Err)
	}
	if err := os.WriteFile(filepath.Join(cli.Dir, "rise.hcl"), []byte("project = \"other-app\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cli.rise(t, "p", "s"); r.Code != 6 {
		t.Errorf("rise.hcl wins over .rise.toml: %d %q %q", r.Code, r.Out, r.Err)
	}
	if err := os.WriteFile(filepath.Join(cli.Dir, "rise.hcl"), []byte("project = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cli.rise(t, "p", "s"); r.Code != 1 || !strings.Contains(r.Err, "rise.hcl line 1") || strings.Contains(r.Err, "--help") {
		t.Errorf("broken rise.hcl: %d %q", r.Code, r.Err)
	}
}

func TestCompletionAndVersion(t *testing.T) {
	srv := seedServer(t)
	ctx := context.Background()
	alice := login(t, srv, "alice@rise.dev")
	for _, n := range []string{"shop", "shipping", "blog"} {
		if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "devops"}); err != nil {
		t.Fatal(err)
	}
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})
	r := cli.rise(t, "__complete", "p", "s", "sh")
	if r.Code != 0 || !strings.HasPrefix(r.Out, "shipping\nshop\n:4\n") && !strings.HasPrefix(r.Out, "shop\nshipping\n:4\n") {
		t.Errorf("project completion: %d %q %q", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "__complete", "p", "c", "x", "--owner", "")
	if r.Code != 0 || !strings.Contains(r.Out, "user:alice\n") || !strings.Contains(r.Out, "team:devops\n") {
		t.Errorf("owner completion: %d %q", r.Code, r.Out)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r = cli.rise(t, "completion", sh); r.Code != 0 || !strings.Contains(r.Out, "rise") {
			t.Errorf("completion %s: %d %q", sh, r.Code, r.Err)
		}
	}

	r = cli.rise(t, "version", "-o", "json")
	var v struct {
		Client string       `json:"client"`
		Server *api.Version `json:"server"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &v) != nil || v.Client == "" || v.Server == nil || v.Server.Version != "test" {
		t.Errorf("version json: %d %q %q", r.Code, r.Out, r.Err)
	}
	if !strings.Contains(r.Err, "Warning: client") {
		t.Errorf("no skew warning for server version %q: %q", "test", r.Err)
	}
}
