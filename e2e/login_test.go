package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/dextest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/servertest"
)

// authServer is a real server whose authenticator is the real auth service
// configured with cfg.
func authServer(t *testing.T, cfg *config.Auth) *servertest.Env {
	t.Helper()
	return servertest.New(t, func(c *config.Server, d *server.Deps) {
		c.Domain, c.AppScheme = "rise.dev", "https"
		s, err := auth.New(context.Background(), cfg, d.Store, auth.Options{
			PublicURL: "http://rise.test", DataDir: t.TempDir(), Listen: "127.0.0.1:0", Log: hclog.NewNullLogger(),
		})
		if err != nil {
			t.Fatalf("auth.New: %v", err)
		}
		d.Auth = s
	})
}

func TestLoginLocalUser(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("hunter2!"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := authServer(t, &config.Auth{Local: &config.LocalAuth{Users: []*config.LocalUser{
		{Email: "niklas@rise.dev", PasswordHash: string(hash), Name: "Niklas"},
	}}})
	cli := newCLIEnv(t, nil)

	r := cli.rise(t, "login", "--url", srv.URL, "--email", "niklas@rise.dev", "--password", "wrong")
	if r.Code != 4 || !strings.HasPrefix(r.Err, "Login failed: ") || strings.Contains(r.Err, "run `rise login`") {
		t.Errorf("wrong password: exit %d, want 4 (stderr %q)", r.Code, r.Err)
	}

	r = cli.rise(t, "login", "--url", srv.URL, "--email", "niklas@rise.dev", "--password", "hunter2!")
	if r.Code != 0 || r.Err != "Login successful! Welcome back, Niklas!\n" {
		t.Fatalf("login: exit %d stderr %q", r.Code, r.Err)
	}
	path := filepath.Join(cli.Config, "rise", "config.json")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v %v", st, err)
	}
	var saved struct {
		URL, Token string
		ExpiresAt  time.Time `json:"expires_at"`
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &saved); err != nil || saved.URL != srv.URL || saved.Token == "" || !saved.ExpiresAt.After(time.Now()) {
		t.Fatalf("config.json = %s (%v)", b, err)
	}

	// The stored token is used for the stored server without --url.
	r = cli.rise(t, "whoami", "-o", "json")
	if r.Code != 0 || !strings.Contains(r.Out, `"email": "niklas@rise.dev"`) {
		t.Fatalf("whoami: exit %d out %q err %q", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "p", "c", "hello")
	if r.Code != 0 || r.Err != "Created project 'hello' with public visibility owned by user:niklas.\n" {
		t.Fatalf("create after login: exit %d err %q", r.Code, r.Err)
	}

	// A token the server rejects → exit 4 and the hint to log in.
	cli.Vars["RISE_TOKEN"] = "garbage"
	r = cli.rise(t, "p", "ls")
	if r.Code != 4 || !strings.Contains(r.Err, "run `rise login`") {
		t.Errorf("bad token: exit %d err %q", r.Code, r.Err)
	}
	delete(cli.Vars, "RISE_TOKEN")

	r = cli.rise(t, "logout")
	if r.Code != 0 {
		t.Fatalf("logout: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "p", "ls")
	if r.Code != 4 || !strings.Contains(r.Err, "run `rise login`") {
		t.Errorf("after logout: exit %d err %q", r.Code, r.Err)
	}
	// logout revoked the token on the server: a copy of it is refused.
	cli.Vars["RISE_TOKEN"] = saved.Token
	r = cli.rise(t, "p", "ls")
	if r.Code != 4 {
		t.Errorf("copy of the logged-out token: exit %d out %q err %q, want 4", r.Code, r.Out, r.Err)
	}
	delete(cli.Vars, "RISE_TOKEN")
}

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// TestLoginBrowserDex is the seed's whole session with the real login:
// `rise login` (browser flow, PKCE) against a real Dex, where the test plays
// the browser (it opens the printed URL, fills in Dex's login form and
// follows the redirects to the CLI's localhost callback), then the typo'd
// team, the create and the list, verbatim.
func TestLoginBrowserDex(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Dex")
	}
	dex := dextest.Start(t, dextest.Options{})
	srv := authServer(t, &config.Auth{OIDC: []*config.OIDCProvider{{
		Name: "dex", Issuer: dex.Issuer, ClientID: dex.ClientID, ClientSecret: dex.ClientSecret,
	}}})
	cli := newCLIEnv(t, nil)

	cmd := exec.Command(riseBinary(t), "login", "--url", srv.URL, "--timeout", "60s")
	cmd.Dir, cmd.Env = cli.Dir, cli.environ() // no DISPLAY: the CLI prints the URL for a headless machine
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
	if err != nil {
		t.Fatalf("read login URL: %v (%q)", err, line)
	}
	const prefix = "Please login to rise at "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("first line %q, want %q...", line, prefix)
	}
	authURL := strings.TrimSpace(strings.TrimPrefix(line, prefix))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatalf("open %s: %v", authURL, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := resp.Request.URL
	if m := formAction.FindSubmatch(page); m != nil {
		if ref, err := url.Parse(html.UnescapeString(string(m[1]))); err == nil {
			action = action.ResolveReference(ref)
		}
	}
	resp, err = browser.PostForm(action.String(), url.Values{"login": {dex.Email}, "password": {dex.Password}})
	if err != nil {
		t.Fatalf("post Dex login form: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Login successful") || resp.Request.URL.Path != "/callback" {
		t.Fatalf("callback page: %d %s %s\ndex log:\n%s", resp.StatusCode, resp.Request.URL, body, dex.Logs())
	}

	rest, _ := io.ReadAll(rd)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("rise login: %v\n%s", err, rest)
	}
	if !strings.HasSuffix(string(rest), "Login successful! Welcome back, Niklas!\n") {
		t.Errorf("login output: %q", rest)
	}
	r := cli.rise(t, "whoami", "-o", "json")
	if r.Code != 0 || !strings.Contains(r.Out, dex.Email) {
		t.Errorf("whoami after browser login: %d %q %q", r.Code, r.Out, r.Err)
	}

	// The rest of the seed's session, logged in through Dex.
	for _, args := range [][]string{{"team", "create", "devops"}, {"project", "create", "my-first-app"}} {
		if r := cli.rise(t, args...); r.Code != 0 {
			t.Fatalf("rise %v: %d %q", args, r.Code, r.Err)
		}
	}
	p, err := srv.Store.ProjectByName(context.Background(), "my-first-app")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.SetProjectStatus(context.Background(), p.ID, "running"); err != nil {
		t.Fatal(err)
	}
	r = cli.rise(t, "p", "c", "secret-app", "--visibility", "private", "--owner", "team:devopsy")
	if r.Err != "Team 'devopsy' does not exist or you do not have permission to create projects for it. Did you mean 'devops'?\n" || r.Code == 0 {
		t.Errorf("typo: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "p", "c", "secret-app", "--visibility", "private", "--owner", "team:devops")
	if r.Err != "Created project 'secret-app' with private visibility owned by team:devops.\n" || r.Code != 0 {
		t.Errorf("create: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "p", "ls")
	if want := "PROJECT         STATUS        URL                             VISIBILITY    OWNER\n" +
		"my-first-app    running       https://my-first-app.rise.dev   public        user:niklas\n" +
		"secret-app      stopped       https://secret-app.rise.dev     private       team:devops\n"; r.Out != want || r.Code != 0 {
		t.Errorf("p ls:\n%s\nwant\n%s", r.Out, want)
	}
}
