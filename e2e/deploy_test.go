package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/realpart"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/servertest"
)

// deployServer is a real server with the real authentication (localAuth), the deployments API and the
// controller driving the Docker runtime on the real engine.
func deployServer(t *testing.T, extra ...func(*deploy.Options, *server.Deps)) *servertest.Env {
	t.Helper()
	baseimage.Require(t, "docker")
	rt := &docker.Runtime{MaxRestarts: 2, StopTimeout: "1s"}
	pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.Provision(pctx); err != nil {
		t.Fatalf("docker runtime: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	var svc *deploy.Service
	srv := servertest.New(t, func(c *config.Server, d *server.Deps) {
		c.Domain, c.AppScheme = "rise.dev", "https"
		d.Auth = localAuth(t, d)
		o := deploy.Options{
			Store:      d.Store,
			Runtime:    func(context.Context) (sdk.Runtime, error) { return rt, nil },
			AppURL:     func(p string) string { return "https://" + p + ".rise.dev" },
			DeployPoll: 200 * time.Millisecond,
		}
		for _, f := range extra {
			f(&o, d)
		}
		var err error
		svc, err = deploy.New(o)
		if err != nil {
			t.Fatalf("deploy.New: %v", err)
		}
		d.Mounts = append(d.Mounts, svc)
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	stopController := sync.OnceFunc(func() { stop(); <-done })
	controllers.Store(t, stopController)
	t.Cleanup(func() { stopController(); controllers.Delete(t) })
	return srv
}

// localPassword is the password of the local users of localAuth.
const localPassword = "e2e-local-password"

// localAuth is the real authentication service with the local users
// alice@rise.dev, bob@rise.dev and niklas@rise.dev (password localPassword).
func localAuth(t *testing.T, d *server.Deps) server.Authenticator {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(localPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var users []*config.LocalUser
	for _, email := range []string{"alice@rise.dev", "bob@rise.dev", "niklas@rise.dev"} {
		users = append(users, &config.LocalUser{Email: email, PasswordHash: string(hash)})
	}
	users = append(users, &config.LocalUser{Email: "root@rise.dev", PasswordHash: string(hash), Admin: true})
	a, err := auth.New(context.Background(), &config.Auth{Local: &config.LocalAuth{Users: users}}, d.Store, auth.Options{
		PublicURL: "http://rise.test", DataDir: t.TempDir(), Listen: "127.0.0.1:0", Log: hclog.NewNullLogger(),
	})
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	return a
}

// localUser is a user logged in through the real login endpoint.
type localUser struct {
	Token  string
	Client *api.Client
}

// login logs email in with its password and returns the rise token.
func login(t *testing.T, srv *servertest.Env, email string) *localUser {
	t.Helper()
	tok, err := srv.Anonymous().Login(context.Background(), api.LoginRequest{Email: email, Password: localPassword})
	if err != nil || tok.Token == "" {
		t.Fatalf("login %s: %v", email, err)
	}
	return &localUser{Token: tok.Token, Client: api.NewClient(srv.URL, tok.Token)}
}

// controllers holds, per test, the function that stops the test's
// deployment controller (see cleanupProject).
var controllers sync.Map // *testing.T → func()

// cleanupProject removes the project's containers after the test. The
// test's controller is stopped first: clean-ups run last-in-first-out, and a
// controller still running would re-create what was just destroyed.
func cleanupProject(t *testing.T, project string) {
	t.Cleanup(func() {
		if stop, ok := controllers.Load(t); ok {
			stop.(func())()
		}
		rt := &docker.Runtime{StopTimeout: "1s"}
		if rt.Provision(context.Background()) == nil {
			_ = rt.Destroy(context.Background(), project, nil)
			rt.Close()
		}
	})
}

const appHCL = `project = "%s"
deploy {
  port        = 8080
  health_path = "/"
  command     = ["/bin/sh", "-c", "mkdir -p /www && echo hello > /www/index.html && echo app-started && exec /bin/busybox httpd -f -p 8080 -h /www"]
}
`

// TestDeployImage deploys a pre-built image with `rise deploy --image` and
// checks the seed's lines, then list, show, logs and stop.
func TestDeployImage(t *testing.T) {
	t.Parallel() // waits on containers / the IdP; independent databases and projects
	srv := deployServer(t)
	alice := login(t, srv, "alice@rise.dev")
	project := "web-" + strings.ToLower(randHex(3))
	cleanupProject(t, project)
	if _, err := alice.Client.CreateProject(context.Background(), api.CreateProjectRequest{Name: project}); err != nil {
		t.Fatal(err)
	}
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})
	writeFile(t, filepath.Join(cli.Dir, "rise.hcl"), strings.ReplaceAll(appHCL, "%s", project))

	r := cli.rise(t, "deploy", "--image", baseimage.Image, "--timeout", "2m")
	want := "Deploying '" + project + "' ...\nDeployment successful! Your app is now running at https://" + project + ".rise.dev\n"
	if r.Code != 0 || r.Err != want {
		t.Fatalf("deploy: exit %d\nstderr %q\nwant   %q", r.Code, r.Err, want)
	}

	r = cli.rise(t, "d", "ls", "-o", "json")
	var ds []api.Deployment
	if r.Code != 0 || json.Unmarshal([]byte(r.Out), &ds) != nil || len(ds) != 1 || ds[0].State != api.StateHealthy || !ds[0].Active {
		t.Fatalf("d ls json: %d %q %q", r.Code, r.Out, r.Err)
	}
	id := ds[0].ID
	r = cli.rise(t, "d", "ls")
	if r.Code != 0 || !regexp.MustCompile(`(?m)^DEPLOYMENT +STATUS +GROUP +CREATED +IMAGE\n`+regexp.QuoteMeta(id)+` +Healthy \* +default `).MatchString(r.Out) {
		t.Errorf("d ls table: %d\n%s", r.Code, r.Out)
	}
	r = cli.rise(t, "d", "s", id)
	if r.Code != 0 || !regexp.MustCompile(`(?m)^Status: +Healthy$`).MatchString(r.Out) {
		t.Errorf("d show %s: %d %q %q", id, r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "__complete", "d", "s", project, "")
	if r.Code != 0 || !strings.HasPrefix(r.Out, id+"\n") {
		t.Errorf("deployment id completion: %d %q", r.Code, r.Out)
	}
	r = cli.rise(t, "d", "logs", project, id)
	if r.Code != 0 || !strings.Contains(r.Out, "app-started\n") {
		t.Errorf("d logs: %d %q %q", r.Code, r.Out, r.Err)
	}
	r = cli.rise(t, "d", "stop", id)
	if r.Code != 0 || !strings.HasPrefix(r.Err, "Stopping deployment "+id+" of '"+project+"'") {
		t.Errorf("d stop: %d %q", r.Code, r.Err)
	}
	r = cli.rise(t, "d", "s", project, "20000101-000000")
	if r.Code != 6 {
		t.Errorf("unknown deployment: exit %d, want 6 (%q)", r.Code, r.Err)
	}
}

// TestSpinnerOnlyOnTTY runs the same follow on a pseudo-terminal (spinner
// frames and ANSI) and through a pipe (plain lines, no escape codes).
func TestSpinnerOnlyOnTTY(t *testing.T) {
	t.Parallel() // waits on containers / the IdP; independent databases and projects
	srv := deployServer(t)
	alice := login(t, srv, "alice@rise.dev")
	project := "tty-" + strings.ToLower(randHex(3))
	cleanupProject(t, project)
	if _, err := alice.Client.CreateProject(context.Background(), api.CreateProjectRequest{Name: project}); err != nil {
		t.Fatal(err)
	}
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})
	// The app never answers its health check, so the follow waits until
	// --timeout (exit 13) while the spinner runs.
	writeFile(t, filepath.Join(cli.Dir, "rise.hcl"), `project = "`+project+`"
deploy {
  port        = 8080
  health_path = "/"
  command     = ["/bin/sleep", "3600"]
}
`)
	args := []string{"deploy", "--image", baseimage.Image, "--timeout", "1500ms"}

	piped := cli.rise(t, args...)
	if piped.Code != 13 || strings.Contains(piped.Err, "\x1b") || strings.Contains(piped.Err, "⠋") ||
		!strings.HasPrefix(piped.Err, "Deploying '"+project+"' ...\nTimed out after 1.5s") {
		t.Fatalf("piped: exit %d stderr %q", piped.Code, piped.Err)
	}

	cmd := exec.Command(riseBinary(t), args...)
	cmd.Dir, cmd.Env = cli.Dir, cli.environ()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout // data stays off the terminal
	ptmx, tty, err := pty.Open()
	if err != nil {
		realpart.Missing(t, "pseudo-terminal", fmt.Errorf("cannot open one: %w", err))
	}
	defer ptmx.Close()
	cmd.Stderr, cmd.Stdin = tty, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var term bytes.Buffer
	_, _ = io.Copy(&term, ptmx) // until the child exits (EIO)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 13 {
		t.Fatalf("tty run: %v\n%q", err, term.String())
	}
	out := term.String()
	if !strings.Contains(out, "\r\x1b[K") || !strings.ContainsAny(out, "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") {
		t.Errorf("no spinner on a terminal: %q", out)
	}
	if !strings.Contains(out, "Deploying '"+project+"' ...") || !strings.Contains(out, "\x1b[31mTimed out after 1.5s") {
		t.Errorf("terminal output lacks the step or the red error: %q", out)
	}

	cli.Vars["NO_COLOR"] = "1"
	cmd = exec.Command(riseBinary(t), args...)
	cmd.Dir, cmd.Env = cli.Dir, cli.environ()
	ptmx2, tty2, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx2.Close()
	cmd.Stderr, cmd.Stdin, cmd.Stdout = tty2, tty2, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty2.Close()
	term.Reset()
	_, _ = io.Copy(&term, ptmx2)
	_ = cmd.Wait()
	if strings.Contains(term.String(), "\x1b[31m") {
		t.Errorf("colour despite NO_COLOR: %q", term.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("progress leaked to stdout: %q", stdout.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRolloutFailedExit12: a deployment the controller fails (here: never
// healthy within the server's deploy timeout) ends `rise deploy` with exit
// 12 and the server's reason.
func TestRolloutFailedExit12(t *testing.T) {
	t.Parallel() // waits on containers / the IdP; independent databases and projects
	srv := deployServer(t, func(o *deploy.Options, _ *server.Deps) { o.DeployTimeout = 2 * time.Second })
	alice := login(t, srv, "alice@rise.dev")
	project := "fail-" + strings.ToLower(randHex(3))
	cleanupProject(t, project)
	if _, err := alice.Client.CreateProject(context.Background(), api.CreateProjectRequest{Name: project}); err != nil {
		t.Fatal(err)
	}
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})
	writeFile(t, filepath.Join(cli.Dir, "rise.hcl"), `project = "`+project+`"
deploy {
  port        = 8080
  health_path = "/"
  command     = ["/bin/sleep", "3600"]
}
`)
	r := cli.rise(t, "deploy", "--image", baseimage.Image, "--timeout", "2m")
	if r.Code != 12 || !regexp.MustCompile(`^Deploying '`+project+`' \.\.\.\nDeployment \d{8}-\d{6} of '`+project+`' failed: .+\n$`).MatchString(r.Err) {
		t.Fatalf("failed rollout: exit %d stderr %q", r.Code, r.Err)
	}
	r = cli.rise(t, "deploy", "--image", baseimage.Image, "-o", "json")
	var je struct {
		Error    string `json:"error"`
		ExitCode int    `json:"exit_code"`
	}
	if r.Code != 12 || json.Unmarshal([]byte(r.Out), &je) != nil || je.ExitCode != 12 {
		t.Fatalf("failed rollout -o json: exit %d out %q", r.Code, r.Out)
	}
}
