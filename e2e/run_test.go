package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunExample runs `rise run` (the real binary) in examples/hello: it
// builds the Dockerfile on the Docker Engine, prints the local URL, which
// answers with the example's page, and Ctrl-C (SIGINT) stops and removes the
// container. No rise server is involved.
func TestRunExample(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Docker Engine")
	}
	baseimage.Require(t, "docker")
	project := "run-" + strings.ToLower(randHex(3))
	image := "rise-local-" + project + ":latest"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", image).Run() })
	t.Cleanup(func() { removeRunContainers(t, project) })

	cli := newCLIEnv(t, nil)
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		cli.Vars["DOCKER_HOST"] = h
	}
	dir, _ := filepath.Abs(filepath.Join("..", "examples", "hello"))
	cmd := exec.Command(riseBinary(t), "run", "-p", project)
	cmd.Dir = dir
	cmd.Env = cli.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var url string
	select {
	case url = <-lines:
	case err := <-done:
		t.Fatalf("rise run ended before printing a URL: %v\n%s", err, stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("no URL after 3 minutes:\n%s", stderr.String())
	}
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(url) {
		t.Fatalf("printed %q, want http://127.0.0.1:PORT\n%s", url, stderr.String())
	}
	if !strings.Contains(stderr.String(), "using Dockerfile...") {
		t.Errorf("stderr lacks the build step:\n%s", stderr.String())
	}

	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				body = string(b)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v\n%s", url, err, stderr.String())
		}
	}
	if !strings.Contains(body, "Hello from rise!") {
		t.Fatalf("%s served %q", url, body)
	}
	if ids := runContainers(t, project); len(ids) != 1 {
		t.Fatalf("running containers labelled rise.run=1 for %s: %q, want one", project, ids)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("rise run after Ctrl-C: %v\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("rise run did not end a minute after SIGINT:\n%s", stderr.String())
	}
	if ids := runContainers(t, project); len(ids) != 0 {
		t.Fatalf("containers left after Ctrl-C: %q", ids)
	}
	if _, err := http.Get(url + "/"); err == nil {
		t.Errorf("%s still answers after Ctrl-C", url)
	}
}

// runContainers lists the containers (running or not) `rise run` made for
// project.
func runContainers(t *testing.T, project string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=rise.run=1", "--filter", "label=rise.project="+project).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

func removeRunContainers(t *testing.T, project string) {
	if ids := runContainers(t, project); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}
