package e2e

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/dev/baseimage"
)

// TestDeployInterruptCancels: Ctrl-C while following a rollout cancels the
// deployment on the server and exits 130; once the deployment is Cancelled
// no container of the project remains.
func TestDeployInterruptCancels(t *testing.T) {
	t.Parallel() // waits on containers / the IdP; independent databases and projects
	srv := deployServer(t)
	alice := login(t, srv, "alice@rise.dev")
	project := "int-" + strings.ToLower(randHex(3))
	cleanupProject(t, project)
	ctx := context.Background()
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: project}); err != nil {
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
	cmd := exec.Command(riseBinary(t), "deploy", "--image", baseimage.Image, "--timeout", "2m")
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
	if err != nil || line != "Deploying '"+project+"' ...\n" {
		t.Fatalf("first line %q (%v)", line, err)
	}
	// The deployment exists and is being followed: interrupt.
	waitFor(t, 30*time.Second, func() bool {
		l, err := alice.Client.ListDeployments(ctx, project, "", 0, "")
		return err == nil && len(l.Deployments) == 1
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rd)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want 130; stderr %q", err, rest)
	}
	if !strings.Contains(string(rest), "Cancelled deployment ") {
		t.Errorf("stderr %q", rest)
	}
	l, err := alice.Client.ListDeployments(ctx, project, "", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	switch st := l.Deployments[0].State; st {
	case api.StateTerminating, api.StateStopped, api.StateCancelling, api.StateCancelled:
	default:
		t.Fatalf("deployment state after Ctrl-C = %s", st)
	}
	// The controller finishes the cancellation: the deployment ends, and
	// the runtime has removed what the interrupted deploy had created.
	waitFor(t, 60*time.Second, func() bool {
		l, err := alice.Client.ListDeployments(ctx, project, "", 0, "")
		return err == nil && len(l.Deployments) == 1 &&
			(l.Deployments[0].State == api.StateCancelled || l.Deployments[0].State == api.StateStopped)
	})
	var left string
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command("docker", "ps", "-a", "--filter", "label=rise.project="+project, "--format", "{{.Names}} {{.Status}}").Output()
		if err != nil {
			t.Fatalf("docker ps: %v", err)
		}
		if left = strings.TrimSpace(string(out)); left == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containers of %s remain after the cancelled deployment:\n%s", project, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
