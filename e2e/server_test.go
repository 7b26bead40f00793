package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/dev/devnet"
	"github.com/riseplatform/rise/dev/pgtest"
)

// riseServer is a `rise server` process started from the built binary.
type riseServer struct {
	URL    string
	DBURL  string
	Config string // the server.hcl it runs with
	Stop   func() // stops it (also done when the test ends)
	logs   *devnet.Buffer
}

// startRiseServer runs `rise server` with a generated server.hcl (local
// users, a fresh database) on a free loopback port. authHCL is the body of
// the auth block; extra blocks are appended to the config.
func startRiseServer(t *testing.T, authHCL string, extra ...string) *riseServer {
	t.Helper()
	return startRiseServerOn(t, pgtest.URL(t), authHCL, extra...)
}

// startRiseServerOn is startRiseServer on the database dbURL.
func startRiseServerOn(t *testing.T, dbURL, authHCL string, extra ...string) *riseServer {
	t.Helper()
	bin := riseBinary(t)
	port := freePort(t)
	dir := t.TempDir()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	hcl := fmt.Sprintf(`listen     = "127.0.0.1:%d"
public_url = %q
domain     = "rise.dev"
data_dir   = %q
database { url = %q }
auth {
%s
}
`, port, base, filepath.Join(dir, "data"), dbURL, authHCL) + strings.Join(extra, "\n")
	cfg := filepath.Join(dir, "server.hcl")
	writeFile(t, cfg, hcl)

	s := &riseServer{URL: base, DBURL: dbURL, Config: cfg, logs: &devnet.Buffer{}}
	cmd := exec.Command(bin, "server", "--config", cfg)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rise server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.Stop = sync.OnceFunc(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("rise server exited during start-up:\n%s\nconfig:\n%s", s.logs, hcl)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("rise server not healthy after 60s:\n%s", s.logs)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := devnet.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSeedSessionWithRiseServer is the seed's whole session on the real
// binary, server included: login (local user), team and project set-up, the
// typo'd team with its suggestion, create, list.
func TestSeedSessionWithRiseServer(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := startRiseServer(t, fmt.Sprintf(`  local {
    user "niklas@rise.dev" {
      password_hash = %q
      name          = "Niklas"
    }
  }`, hash))
	cli := newCLIEnv(t, nil)
	step := func(want result, args ...string) {
		t.Helper()
		r := cli.rise(t, args...)
		if r != want {
			t.Fatalf("$ rise %s\n got  exit %d stdout %q stderr %q\n want exit %d stdout %q stderr %q\nserver log:\n%s",
				strings.Join(args, " "), r.Code, r.Out, r.Err, want.Code, want.Out, want.Err, srv.logs)
		}
	}
	step(result{Err: "Login successful! Welcome back, Niklas!\n"}, "login", "--url", srv.URL, "--email", "niklas@rise.dev", "--password", "s3cret-pass")
	step(result{Err: "Created team 'devops' with owners niklas and members (none).\n"}, "team", "create", "devops")
	step(result{Err: "Created project 'my-first-app' with public visibility owned by user:niklas.\n"}, "project", "create", "my-first-app")
	setStatus(t, srv.DBURL, "my-first-app", "running")

	r := cli.rise(t, "p", "c", "secret-app", "--visibility", "private", "--owner", "team:devopsy")
	if r.Err != "Team 'devopsy' does not exist or you do not have permission to create projects for it. Did you mean 'devops'?\n" || r.Code == 0 {
		t.Fatalf("typo: %d %q", r.Code, r.Err)
	}
	step(result{Err: "Created project 'secret-app' with private visibility owned by team:devops.\n"}, "p", "c", "secret-app", "--visibility", "private", "--owner", "team:devops")
	step(result{Out: "PROJECT         STATUS        URL                             VISIBILITY    OWNER\n" +
		"my-first-app    running       https://my-first-app.rise.dev   public        user:niklas\n" +
		"secret-app      stopped       https://secret-app.rise.dev     private       team:devops\n"}, "p", "ls")
}

// setStatus sets a project's status as the deployments controller would.
func setStatus(t *testing.T, dbURL, project, status string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE projects SET status = $2 WHERE name = $1`, project, status); err != nil {
		t.Fatal(err)
	}
}
