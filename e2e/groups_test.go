package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/dextest"
	"github.com/riseplatform/rise/server/store"
)

// dexCLILogin runs `rise login --url` and plays the browser at Dex with
// email and password; it returns the CLI's exit code and stderr.
func dexCLILogin(t *testing.T, cli *cliEnv, serverURL, email, password string) (int, string) {
	t.Helper()
	cmd := exec.Command(riseBinary(t), "login", "--url", serverURL, "--timeout", "60s")
	cmd.Dir, cmd.Env = cli.Dir, cli.environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	rd := bufio.NewReader(stderr)
	line, err := rd.ReadString('\n')
	const prefix = "Please login to rise at "
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("rise login: first line %q (%v)", line, err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(strings.TrimSpace(strings.TrimPrefix(line, prefix)))
	if err != nil {
		t.Fatalf("open the login URL: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := resp.Request.URL
	if m := formAction.FindSubmatch(page); m != nil {
		if ref, err := url.Parse(html.UnescapeString(string(m[1]))); err == nil {
			action = action.ResolveReference(ref)
		}
	}
	resp, err = browser.PostForm(action.String(), url.Values{"login": {email}, "password": {password}})
	if err != nil {
		t.Fatalf("post Dex's login form: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rest, _ := io.ReadAll(rd)
	code := 0
	var ee *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(rest)
}

// TestTeamsFollowDexGroups logs in through a real Dex whose static users
// carry groups, so the groups claim arrives over OIDC for real: teams
// follow it (created, joined, left), owners kept by hand stay owners,
// managed teams refuse hand edits, and allowed_groups keeps a user outside
// the allowed groups off the platform with "platform access denied".
func TestTeamsFollowDexGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Dex")
	}
	t.Parallel()
	const outsider, outsiderPassword = "outsider@example.com", "outsider password"
	dex := dextest.Start(t, dextest.Options{
		Groups: []string{"rise-web", "rise-ops", "staff", "Rise-Not A Team"},
		Users:  []dextest.User{{Email: outsider, Password: outsiderPassword, Groups: []string{"rise-web"}}},
	})
	hash, err := bcrypt.GenerateFromPassword([]byte(localPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := authServer(t, &config.Auth{
		Local: &config.LocalAuth{Users: []*config.LocalUser{{Email: "root@rise.dev", PasswordHash: string(hash), Admin: true}}},
		OIDC: []*config.OIDCProvider{{
			Name: "dex", Issuer: dex.Issuer, ClientID: dex.ClientID, ClientSecret: dex.ClientSecret,
			SyncGroups: true, GroupPrefix: "rise-", AllowedGroups: []string{"staff"},
		}},
	})
	ctx := context.Background()
	cli := newCLIEnv(t, nil)
	if code, out := dexCLILogin(t, cli, srv.URL, dex.Email, dex.Password); code != 0 || !strings.HasSuffix(out, "Login successful! Welcome back, Niklas!\n") {
		t.Fatalf("login: %d %q", code, out)
	}
	r := cli.rise(t, "t", "ls", "-o", "json")
	var teams []api.Team
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &teams) != nil || len(teams) != 2 ||
		teams[0].Name != "ops" || teams[1].Name != "web" || teams[0].ManagedBy != "oidc:dex" || !slices.Equal(teams[1].Members, []string{"niklas"}) {
		t.Fatalf("teams after the first login: %d %s %s", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "t", "s", "web")
	if r.Code != 0 || !strings.Contains(r.Out, "oidc:dex") {
		t.Errorf("t s web: %q", r.Out)
	}
	// Managed teams refuse hand edits, even by their members.
	r = cli.rise(t, "t", "u", "web", "--add-member", "root@rise.dev")
	if r.Code == 0 || !strings.Contains(r.Err, "Team 'web' is managed by the identity provider") {
		t.Errorf("hand edit of a managed team: %d %q", r.Code, r.Err)
	}
	if r := cli.rise(t, "t", "rm", "web", "--yes"); r.Code == 0 {
		t.Errorf("deleting a managed team: %d %q", r.Code, r.Err)
	}
	// An admin keeps niklas as an owner of ops by hand.
	root := login(t, srv, "root@rise.dev")
	if _, err := root.Client.UpdateTeam(ctx, "ops", api.UpdateTeamRequest{AddOwners: []string{"niklas"}}); err != nil {
		t.Fatalf("admin adds an owner to a managed team: %v", err)
	}
	if _, err := root.Client.UpdateTeam(ctx, "ops", api.UpdateTeamRequest{AddMembers: []string{"root"}}); err == nil {
		t.Error("admin added a member to a managed team")
	}

	// The IdP drops niklas from both groups: the next login leaves web,
	// and ops keeps its hand-kept owner.
	dex.SetGroups(t, dex.Email, []string{"staff"})
	if code, out := dexCLILogin(t, cli, srv.URL, dex.Email, dex.Password); code != 0 {
		t.Fatalf("second login: %d %q", code, out)
	}
	me, err := api.NewClient(srv.URL, savedToken(t, cli)).Me(ctx)
	if err != nil || !slices.Equal(me.Teams, []string{"ops"}) || !slices.Equal(me.Groups, []string{"staff"}) {
		t.Fatalf("teams after leaving the groups: %+v %v", me, err)
	}
	ops, err := root.Client.GetTeam(ctx, "ops")
	if err != nil || !slices.Equal(ops.Owners, []string{"niklas"}) {
		t.Fatalf("ops after the sync: %+v %v", ops, err)
	}
	web, err := root.Client.GetTeam(ctx, "web")
	if err != nil || len(web.Members)+len(web.Owners) != 0 {
		t.Fatalf("web after the sync: %+v %v", web, err)
	}

	// allowed_groups: the outsider (rise-web, not staff) never gets in, and
	// no account is made for them.
	out := newCLIEnv(t, nil)
	code, msg := dexCLILogin(t, out, srv.URL, outsider, outsiderPassword)
	if code == 0 || !strings.Contains(msg, "platform access denied: outsider@example.com is not in any group allowed to use this rise server") {
		t.Fatalf("outsider login: %d %q", code, msg)
	}
	if _, err := srv.Store.UserByRef(ctx, outsider); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an account was made for a denied user: %v", err)
	}
	if r := out.rise(t, "p", "ls"); r.Code == 0 {
		t.Errorf("the denied user can list projects: %q", r.Out)
	}
}
