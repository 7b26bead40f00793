package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/devnet"
	"github.com/riseplatform/rise/dev/dextest"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/dev/registrytest"
)

// TestSeedSessionEndToEnd is the seed's whole session (seeds/003) on real
// parts with the real `rise` binary, server included: `rise server` on a
// fresh PostgreSQL database with Dex as its OIDC provider, Debian's
// docker-registry with token auth against the server's realm, and the Docker
// runtime on the real engine. The test plays the browser for `rise login`.
//
// The seed's .rise.toml says backend = "buildpacks": `pack` cannot build
// anything on a machine without access to Docker Hub (its builder images
// live there), so the test checks that the seed's file is read (the build
// is announced "using buildpacks") and fails with the clear missing-tool
// error, then deploys the same project from a Dockerfile app
// ([build] backend = "docker") for the rest of the session: push with
// short-lived credentials, deploy, the private URL, list, rollback, stop and
// delete.
func TestSeedSessionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Dex, a registry, PostgreSQL and the Docker Engine")
	}
	base := baseimage.Require(t, "docker")
	const project = "secret-app"
	removeProjectContainers(t, project)
	t.Cleanup(func() { removeProjectContainers(t, project) })

	port := freePort(t)
	public := "http://127.0.0.1:" + strconv.Itoa(port)
	dex := dextest.Start(t, dextest.Options{ExtraRedirectURIs: []string{public + "/auth/callback"}})
	keys := t.TempDir()
	key, crt := writeTokenKeyPair(t, keys)
	reg := registrytest.Start(t, registrytest.Options{
		Realm: public + "/api/v1/registry/token", Service: "rise-registry", Issuer: "rise", RootCertBundle: crt,
	})
	srv := startSessionServer(t, port, fmt.Sprintf(`
auth {
  oidc "dex" {
    issuer        = %q
    client_id     = %q
    client_secret = %q
  }
}
registry "docker" {
  url              = %q
  token_ttl        = "5m"
  service          = "rise-registry"
  issuer           = "rise"
  signing_key_file = %q
  certificate_file = %q
}
runtime "docker" {
  bind_address = "127.0.0.1"
  stop_timeout = "1s"
}
`, dex.Issuer, dex.ClientID, dex.ClientSecret, reg.Addr, key, crt))
	appHost := project + ".localhost:" + strconv.Itoa(port)
	appURL := "http://" + appHost

	// $ rise login
	cli := newCLIEnv(t, nil)
	browserLogin(t, cli, srv, dex)

	// $ rise p c secret-app --visibility private --owner team:devopsy
	run := func(want int, args ...string) result {
		t.Helper()
		r := cli.rise(t, args...)
		if r.Code != want {
			t.Fatalf("$ rise %s\nexit %d, want %d\nstdout:\n%s\nstderr:\n%s\nserver log (tail):\n%s",
				strings.Join(args, " "), r.Code, want, r.Out, r.Err, tail(srv.logs.String(), 40))
		}
		return r
	}
	run(0, "team", "create", "devops")
	r := cli.rise(t, "p", "c", project, "--visibility", "private", "--owner", "team:devopsy")
	if want := "Team 'devopsy' does not exist or you do not have permission to create projects for it. Did you mean 'devops'?\n"; r.Err != want || r.Code == 0 {
		t.Fatalf("typo'd team: exit %d stderr %q, want %q", r.Code, r.Err, want)
	}
	// $ rise p c secret-app --visibility private --owner team:devops
	r = run(0, "p", "c", project, "--visibility", "private", "--owner", "team:devops")
	if want := "Created project 'secret-app' with private visibility owned by team:devops.\n"; r.Err != want {
		t.Fatalf("create: stderr %q, want %q", r.Err, want)
	}
	// $ rise p ls
	r = run(0, "p", "ls")
	lines := strings.Split(strings.TrimSuffix(r.Out, "\n"), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^PROJECT +STATUS +URL +VISIBILITY +OWNER$`).MatchString(lines[0]) ||
		strings.Join(strings.Fields(lines[1]), " ") != "secret-app stopped "+appURL+" private team:devops" {
		t.Fatalf("p ls:\n%s", r.Out)
	}

	// $ cat .rise.toml   (the seed's file, verbatim)
	writeFile(t, filepath.Join(cli.Dir, ".rise.toml"), "project = \"secret-app\"\n\n[build]\nbackend = \"buildpacks\"\n")
	writeFile(t, filepath.Join(cli.Dir, "index.html"), "secret v1\n")
	// $ rise d c secret-app   (buildpacks: cannot run here, see above)
	if _, err := exec.LookPath("pack"); err == nil {
		t.Log("pack is installed: not checking the missing-pack error")
	} else {
		r = run(10, "d", "c", project, "--timeout", "2m")
		if !strings.HasPrefix(r.Err, "Building container image '"+reg.Addr+"/rise/secret-app:") ||
			!strings.Contains(r.Err, "' using buildpacks...\n") || !strings.Contains(r.Err, "`pack` was not found on PATH") {
			t.Fatalf("seed .rise.toml without pack: stderr:\n%s", r.Err)
		}
	}

	// The same project from a Dockerfile: build, push with the server's
	// short-lived credentials to the token-auth registry, deploy, follow.
	writeFile(t, filepath.Join(cli.Dir, ".rise.toml"), "project = \"secret-app\"\n\n[build]\nbackend = \"docker\"\n\n[deploy]\nport = 8080\nhealth_path = \"/\"\n")
	writeFile(t, filepath.Join(cli.Dir, "Dockerfile"), "ARG BASE_IMAGE="+base+"\nFROM ${BASE_IMAGE}\nCOPY index.html /var/www/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/var/www\"]\n")
	deployed := regexp.MustCompile(`^Building container image '` + regexp.QuoteMeta(reg.Addr) + `/rise/secret-app:(\d{8}-\d{6}(?:-\d+)?)' using Dockerfile\.\.\.\n` +
		`Pushing container image to ` + regexp.QuoteMeta(reg.Addr) + `\.\.\.\n` +
		`Deploying 'secret-app' \.\.\.\n` +
		`Deployment successful! Your app is now running at ` + regexp.QuoteMeta(appURL) + `\n$`)
	r = run(0, "d", "c", project, "--timeout", "2m")
	m := deployed.FindStringSubmatch(r.Err)
	if m == nil {
		t.Fatalf("d c secret-app: stderr:\n%s", r.Err)
	}
	v1 := m[1]

	// The URL serves the app, only to people who may see the project.
	token := savedToken(t, cli)
	app := appClient(port)
	if code, _ := getApp(t, app, appHost, ""); code != http.StatusFound && code != http.StatusUnauthorized {
		t.Errorf("private app without a session: %d, want 302 or 401", code)
	}
	if code, body := getApp(t, app, appHost, token); code != http.StatusOK || body != "secret v1\n" {
		t.Fatalf("private app with the session cookie: %d %q", code, body)
	}

	// A second version, then `rise d ls`.
	writeFile(t, filepath.Join(cli.Dir, "index.html"), "secret v2\n")
	r = run(0, "d", "c", project, "--timeout", "2m")
	if m = deployed.FindStringSubmatch(r.Err); m == nil {
		t.Fatalf("second deploy: stderr:\n%s", r.Err)
	}
	v2 := m[1]
	waitBody(t, app, appHost, token, "secret v2\n")
	// v1 is Terminating until its container stopped, then Superseded.
	waitFor(t, 30*time.Second, func() bool {
		return strings.Contains(cli.rise(t, "d", "s", project, v1, "-o", "json").Out, `"state": "Superseded"`)
	})
	r = run(0, "d", "ls", project)
	if !regexp.MustCompile(`(?m)^DEPLOYMENT +STATUS +GROUP +CREATED +IMAGE\n` + v2 + ` +Healthy \* +default .*\n` + v1 + ` +Superseded +default `).MatchString(r.Out) {
		t.Errorf("d ls:\n%s", r.Out)
	}

	// $ rise d rollback secret-app   (to the previous healthy deployment: v1)
	r = run(0, "d", "rollback", project, "--timeout", "2m")
	rb := regexp.MustCompile(`^Rolling back 'secret-app' to ` + v1 + ` as deployment (\S+)\.\n`).FindStringSubmatch(r.Err)
	if rb == nil || !strings.HasSuffix(r.Err, "Deployment successful! Your app is now running at "+appURL+"\n") {
		t.Fatalf("rollback: stderr:\n%s", r.Err)
	}
	waitBody(t, app, appHost, token, "secret v1\n")

	// $ rise d stop secret-app <id>: the app is gone (503: no active deployment).
	r = run(0, "d", "stop", project, rb[1])
	if !strings.HasPrefix(r.Err, "Stopping deployment "+rb[1]+" of 'secret-app'") {
		t.Errorf("d stop: %q", r.Err)
	}
	waitStatus(t, app, appHost, token, http.StatusServiceUnavailable)

	// $ rise p rm secret-app
	r = run(0, "p", "rm", project, "--yes")
	if r.Err != "Deleted project 'secret-app'.\n" {
		t.Errorf("p rm: %q", r.Err)
	}
	// Deletion is asynchronous: the project is "deleting" until the
	// controller stopped its deployments and removed its repository.
	waitFor(t, 30*time.Second, func() bool { return !strings.Contains(run(0, "p", "ls").Out, project) })
}

// sessionServer is `rise server` from the built binary.
type sessionServer struct {
	URL   string
	DBURL string
	logs  *devnet.Buffer
}

// startSessionServer runs `rise server` on port with a fresh database, the
// apps domain localhost:<port> (http) and the given registry, runtime and
// auth blocks.
func startSessionServer(t *testing.T, port int, blocks string) *sessionServer {
	t.Helper()
	bin := riseBinary(t)
	dir := t.TempDir()
	public := "http://127.0.0.1:" + strconv.Itoa(port)
	dbURL := pgtest.URL(t)
	cfg := filepath.Join(dir, "server.hcl")
	writeFile(t, cfg, fmt.Sprintf(`listen     = "127.0.0.1:%d"
public_url = %q
domain     = "localhost:%d"
app_scheme = "http"
data_dir   = %q
database { url = %q }
%s`, port, public, port, filepath.Join(dir, "data"), dbURL, blocks))

	s := &sessionServer{URL: public, DBURL: dbURL, logs: &devnet.Buffer{}}
	cmd := exec.Command(bin, "server", "--config", cfg)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+h)
	}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rise server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(public + "/api/v1/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("rise server exited during start-up:\n%s", s.logs)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("rise server not healthy after 60s:\n%s", s.logs)
		}
	}
}

// browserLogin runs `rise login --url` and plays the browser: it opens the
// printed URL, posts Dex's login form and follows the redirects to the
// CLI's loopback callback.
func browserLogin(t *testing.T, cli *cliEnv, srv *sessionServer, dex *dextest.Dex) {
	t.Helper()
	cmd := exec.Command(riseBinary(t), "login", "--url", srv.URL, "--timeout", "60s")
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
		t.Fatalf("rise login: first line %q (%v), want %q...", line, err, prefix)
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
	resp, err = browser.PostForm(action.String(), url.Values{"login": {dex.Email}, "password": {dex.Password}})
	if err != nil {
		t.Fatalf("post Dex's login form: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/callback" {
		t.Fatalf("after Dex's form: %d %s\n%s\ndex log:\n%s", resp.StatusCode, resp.Request.URL, body, dex.Logs())
	}
	rest, _ := io.ReadAll(rd)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("rise login: %v\n%s\nserver log:\n%s", err, rest, tail(srv.logs.String(), 30))
	}
	if !strings.HasSuffix(string(rest), "Login successful! Welcome back, Niklas!\n") {
		t.Fatalf("rise login output: %q", rest)
	}
}

// savedToken is the token `rise login` stored.
func savedToken(t *testing.T, cli *cliEnv) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cli.Config, "rise", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Token string }
	if err := json.Unmarshal(b, &c); err != nil || c.Token == "" {
		t.Fatalf("config.json: %s (%v)", b, err)
	}
	return c.Token
}

// appClient reaches <project>.localhost:<port> on loopback whatever the
// resolver says about *.localhost, and does not follow redirects.
func appClient(port int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(port))
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// getApp GETs the app's root as a browser would, with the session cookie
// when token is set.
func getApp(t *testing.T, c *http.Client, host, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/", nil)
	req.Header.Set("Accept", "text/html")
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "rise_session", Value: token})
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitBody waits until the app serves body (the edge switches to a new
// deployment once it is the active one).
func waitBody(t *testing.T, c *http.Client, host, token, body string) {
	t.Helper()
	var code int
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, got = getApp(t, c, host, token); code == http.StatusOK && got == body {
			return
		}
	}
	t.Fatalf("%s: %d %q, want 200 %q", host, code, got, body)
}

func waitStatus(t *testing.T, c *http.Client, host, token string, want int) {
	t.Helper()
	var code int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, _ = getApp(t, c, host, token); code == want {
			return
		}
	}
	t.Fatalf("%s: %d, want %d", host, code, want)
}

// writeTokenKeyPair writes the EC P-256 key and self-signed certificate the
// registry plugin signs registry tokens with (the registry trusts the
// certificate) and returns their paths.
func writeTokenKeyPair(t *testing.T, dir string) (keyPath, certPath string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rise e2e registry token signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath = filepath.Join(dir, "registry.key"), filepath.Join(dir, "registry.crt")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	return keyPath, certPath
}

// removeProjectContainers removes the Docker runtime's containers and
// network of project (left over by an interrupted run). Call it after the
// rise server stopped: a running controller would re-create them.
func removeProjectContainers(t *testing.T, project string) {
	filter := "label=rise.project=" + project
	if out, err := exec.Command("docker", "ps", "-aq", "--filter", filter).Output(); err == nil {
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	}
	if out, err := exec.Command("docker", "network", "ls", "-q", "--filter", filter).Output(); err == nil {
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"network", "rm"}, ids...)...).Run()
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestExamplesBuild builds every example app with the real binary the way
// `rise deploy` does in `make dev` (examples/site has no Dockerfile: a
// generated one, on the base image its rise.hcl configures) and checks what
// the images serve.
func TestExamplesBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Docker Engine")
	}
	baseimage.Require(t, "docker")
	out, err := exec.Command("../dev/go-image.sh", "docker").CombinedOutput()
	if err != nil {
		t.Fatalf("dev/go-image.sh: %v\n%s", err, out)
	}
	cli := newCLIEnv(t, nil)
	for _, ex := range []struct{ dir, method, path, want string }{
		{"hello", "Dockerfile", "/", "Hello from rise!"},
		{"site", "Dockerfile", "/css/site.css", "font-family"}, // rise.hcl: build "docker", generated Dockerfile
		{"go-http", "Dockerfile", "/", "Hello from Go on rise!"},
	} {
		tag := fmt.Sprintf("rise-example-%s:%d", ex.dir, time.Now().UnixNano())
		t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
		dir, _ := filepath.Abs(filepath.Join("..", "examples", ex.dir))
		r := cli.rise(t, "build", tag, dir)
		if r.Code != 0 || strings.TrimSpace(r.Out) != tag || !strings.Contains(r.Err, "Building with "+ex.method+" (") {
			t.Fatalf("rise build %s: exit %d\nstdout %q\nstderr:\n%s", ex.dir, r.Code, r.Out, r.Err)
		}
		if got := serveOnce(t, tag, ex.path); !strings.Contains(got, ex.want) {
			t.Errorf("%s serves %q at %s, want %q", ex.dir, got, ex.path, ex.want)
		}
	}
}

// serveOnce runs image on a free loopback port and GETs path once it answers.
func serveOnce(t *testing.T, image, path string) string {
	t.Helper()
	port := freePort(t)
	name := fmt.Sprintf("rise-example-%d", time.Now().UnixNano())
	if out, err := exec.Command("docker", "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), image).CombinedOutput(); err != nil {
		t.Fatalf("docker run %s: %v\n%s", image, err, out)
	}
	defer func() { _ = exec.Command("docker", "rm", "-f", name).Run() }()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return string(b)
		}
		last = resp.Status
	}
	logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
	t.Fatalf("%s did not answer %s: %s\n%s", image, path, last, logs)
	return ""
}
