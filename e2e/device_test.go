package e2e

import (
	"bufio"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/dextest"
)

var userCodeRE = regexp.MustCompile(`enter the code (\S+?)\)?$`)

// TestLoginDeviceDex runs `rise login --device` against a real Dex: the test
// reads the code the CLI prints, enters it at Dex and logs in as the user
// would on another device, and the CLI's polling finishes the login.
func TestLoginDeviceDex(t *testing.T) {
	t.Parallel() // waits on containers / the IdP; independent databases and projects
	if testing.Short() {
		t.Skip("needs Dex")
	}
	dex := dextest.Start(t, dextest.Options{})
	srv := authServer(t, &config.Auth{OIDC: []*config.OIDCProvider{{
		Name: "dex", Issuer: dex.Issuer, ClientID: dex.ClientID, ClientSecret: dex.ClientSecret,
	}}})
	cli := newCLIEnv(t, nil)
	cmd := exec.Command(riseBinary(t), "login", "--device", "--url", srv.URL, "--timeout", "90s")
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
	var code, printed string
	for code == "" {
		line, err := rd.ReadString('\n')
		printed += line
		if err != nil {
			t.Fatalf("no user code printed: %v\n%s", err, printed)
		}
		if m := userCodeRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			code = m[1]
		}
	}
	if !strings.HasPrefix(printed, "Please login to rise at "+dex.Issuer) {
		t.Errorf("device output: %q", printed)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.PostForm(dex.Issuer+"/device/auth/verify_code", url.Values{"user_code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("verify code: %d %s\n%s", resp.StatusCode, page, dex.Logs())
	}
	action := resp.Request.URL
	if m := formAction.FindSubmatch(page); m != nil {
		if ref, err := url.Parse(html.UnescapeString(string(m[1]))); err == nil {
			action = action.ResolveReference(ref)
		}
	}
	resp, err = browser.PostForm(action.String(), url.Values{"login": {dex.Email}, "password": {dex.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("device login at Dex: %d at %s\n%s", resp.StatusCode, resp.Request.URL, dex.Logs())
	}

	rest, _ := io.ReadAll(rd)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("rise login --device: %v\n%s", err, rest)
	}
	if !strings.HasSuffix(string(rest), "Login successful! Welcome back, Niklas!\n") {
		t.Errorf("output after approval: %q", rest)
	}
	if r := cli.rise(t, "whoami"); r.Code != 0 || !strings.Contains(r.Out, dex.Email) {
		t.Errorf("whoami: %d %q %q", r.Code, r.Out, r.Err)
	}
}
