// Package local holds the helpers of the local platform (dev/up.sh,
// dev/down.sh); its test runs those scripts for real.
package local

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/dextest"
	"github.com/riseplatform/rise/dev/realpart"
)

// TestUpDown runs dev/up.sh in a temporary state directory on free ports,
// follows the commands it prints (login, create, deploy a copy of
// examples/hello, the URL answers), runs it a second time (nothing
// restarts) and dev/down.sh (everything stops).
func TestUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a registry, Dex and rise server")
	}
	baseimage.Require(t, "docker")
	if _, err := exec.LookPath("docker-registry"); err != nil {
		realpart.Missing(t, "OCI registry (docker-registry)", fmt.Errorf("not installed (dev/deps.sh installs it): %w", err))
	}
	if _, err := dextest.Binary(); err != nil {
		realpart.Missing(t, "Dex", fmt.Errorf("cannot build it: %w", err))
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	bin := filepath.Join(t.TempDir(), "rise")
	if out, err := goCmd(root, "build", "-o", bin, "./cmd/rise").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/rise: %v\n%s", err, out)
	}
	// PostgreSQL runs as the postgres user: the state directory must be
	// reachable for it (t.TempDir's parents are private).
	state, err := os.MkdirTemp("", "rise-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(state) })
	ports := map[string]int{}
	env := append(os.Environ(), "RISE_DEV_STATE="+state, "RISE_DEV_BIN="+bin, "RISE_DEV_ENGINE=docker")
	for _, k := range []string{"RISE_DEV_PORT", "RISE_DEV_PG_PORT", "RISE_DEV_REGISTRY_PORT", "RISE_DEV_DEX_PORT"} {
		ports[k] = freePort(t)
		env = append(env, k+"="+strconv.Itoa(ports[k]))
	}
	script := func(name string) (string, error) {
		cmd := exec.Command(filepath.Join(root, "dev", name))
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stdout.String(), fmt.Errorf("dev/%s: %w\nstdout:\n%s\nstderr:\n%s", name, err, stdout.String(), stderr.String())
		}
		if stderr.Len() > 0 {
			return stdout.String(), fmt.Errorf("dev/%s printed on stderr (it must be quiet on success):\n%s", name, stderr.String())
		}
		return stdout.String(), nil
	}
	project := fmt.Sprintf("up-%d", time.Now().UnixNano()%1e6)
	t.Cleanup(func() {
		if _, err := script("down.sh"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=rise.project="+project).Output(); len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(string(ids))...)...).Run()
		}
	})

	out, err := script("up.sh")
	if err != nil {
		t.Fatalf("%v\nserver log:\n%s", err, readFile(filepath.Join(state, "server.log")))
	}
	public := "http://127.0.0.1:" + strconv.Itoa(ports["RISE_DEV_PORT"])
	password := strings.TrimSpace(readFile(filepath.Join(state, "admin-password")))
	login := "bin/rise login --url " + public + " --email admin@example.com --password '" + password + "'"
	for _, want := range []string{"rise is running at " + public, login, "bin/rise p c hello", "cd examples/hello && ../../bin/rise deploy",
		"The dashboard: " + public + "/projects"} {
		if !strings.Contains(out, want) {
			t.Errorf("up.sh output lacks %q:\n%s", want, out)
		}
	}
	pid := readFile(filepath.Join(state, "server.pid"))

	// The printed commands, on a copy of examples/hello.
	app := t.TempDir()
	for _, f := range []string{"Dockerfile", "index.html"} {
		writeFile(t, filepath.Join(app, f), readFile(filepath.Join(root, "examples", "hello", f)))
	}
	writeFile(t, filepath.Join(app, "rise.hcl"), "project = \""+project+"\"\ndeploy {\n  port        = 8080\n  health_path = \"/\"\n}\n")
	cfg := t.TempDir()
	rise := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = app
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + cfg, "XDG_CONFIG_HOME=" + cfg}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rise %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, b, readFile(filepath.Join(state, "server.log")))
		}
		return string(b)
	}
	rise("login", "--url", public, "--email", "admin@example.com", "--password", password)
	rise("p", "c", project)
	// make dev generated an encryption key: secrets can be stored.
	if out := rise("env", "set", "API_TOKEN=dev-secret", "--secret"); !strings.Contains(out, "Set API_TOKEN (secret)") {
		t.Fatalf("rise env set:\n%s", out)
	}
	host := project + ".localhost:" + strconv.Itoa(ports["RISE_DEV_PORT"])
	if out := rise("deploy", "--timeout", "2m"); !strings.HasSuffix(out, "Your app is now running at http://"+host+"\n") {
		t.Fatalf("rise deploy:\n%s", out)
	}
	req, _ := http.NewRequest(http.MethodGet, public+"/", nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello from rise!") {
		t.Fatalf("GET http://%s/: %d\n%s", host, resp.StatusCode, body)
	}
	rise("p", "rm", project, "--yes")
	// Deleting a project removes its containers and network (the project
	// controller runs the runtime's Destroy) before the platform goes down.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var left []string
		for _, args := range [][]string{{"ps", "-aq"}, {"network", "ls", "-q"}} {
			out, _ := exec.Command("docker", append(args, "--filter", "label=rise.project="+project)...).Output()
			left = append(left, strings.Fields(string(out))...)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("project %s deleted, but its Docker objects remain: %v", project, left)
		}
	}

	// Twice is safe: everything is kept running.
	if _, err := script("up.sh"); err != nil {
		t.Fatal(err)
	}
	if again := readFile(filepath.Join(state, "server.pid")); again != pid {
		t.Errorf("second up.sh restarted the server (pid %s -> %s)", pid, again)
	}

	// down.sh stops all of it.
	pids := []string{pid}
	for _, f := range []string{"dex/dex.pid", "registry/registry.pid"} {
		pids = append(pids, readFile(filepath.Join(state, f)))
	}
	if _, err := script("down.sh"); err != nil {
		t.Fatal(err)
	}
	for _, p := range pids {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err != nil || syscall.Kill(n, 0) == nil {
			t.Errorf("process %q still runs after down.sh (%v)", p, err)
		}
	}
	for k, p := range ports {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); err == nil {
			c.Close()
			t.Errorf("%s=%d still answers after down.sh", k, p)
		}
	}
}

func goCmd(dir string, args ...string) *exec.Cmd {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	return cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
