package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/realpart"
)

// ptyRun runs rise with stdin and stderr on a pseudo-terminal, answering
// each prompt (a string the terminal shows) with its reply. It returns
// everything the terminal showed and the exit code.
func ptyRun(t *testing.T, cli *cliEnv, answers [][2]string, args ...string) (string, int) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		realpart.Missing(t, "pseudo-terminal", fmt.Errorf("cannot open one: %w", err))
	}
	defer ptmx.Close()
	cmd := exec.Command(riseBinary(t), args...)
	cmd.Dir, cmd.Env = cli.Dir, cli.environ()
	cmd.Stdin, cmd.Stderr, cmd.Stdout = tty, tty, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var shown strings.Builder
	rd := bufio.NewReader(ptmx)
	for _, a := range answers {
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(shown.String(), a[0]) {
			b, err := rd.ReadByte()
			if err != nil || time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("prompt %q never shown: %v\n%q", a[0], err, shown.String())
			}
			shown.WriteByte(b)
		}
		if _, err := ptmx.WriteString(a[1]); err != nil {
			t.Fatal(err)
		}
	}
	rest, _ := io.ReadAll(rd) // until the child exits
	shown.Write(rest)
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return shown.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return shown.String(), 0
}

// TestPromptsOnTerminal: on a terminal, delete asks for confirmation (no →
// exit 3, yes → deleted) and login prompts for the password without echo.
func TestPromptsOnTerminal(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("tty-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := authServer(t, &config.Auth{Local: &config.LocalAuth{Users: []*config.LocalUser{{Email: "alice@rise.dev", PasswordHash: string(hash)}}}})
	cli := newCLIEnv(t, nil)

	shown, code := ptyRun(t, cli, [][2]string{{"Password: ", "tty-secret\r"}}, "login", "--url", srv.URL, "--email", "alice@rise.dev")
	if code != 0 || !strings.Contains(shown, "Login successful! Welcome back, Alice!") || strings.Contains(shown, "tty-secret") {
		t.Fatalf("password prompt: exit %d, terminal showed %q", code, shown)
	}

	if r := cli.rise(t, "p", "c", "shop"); r.Code != 0 {
		t.Fatalf("create: %d %q", r.Code, r.Err)
	}
	shown, code = ptyRun(t, cli, [][2]string{{"[y/N] ", "n\r"}}, "p", "rm", "shop")
	if code != 3 || !strings.Contains(shown, "Delete project 'shop', all its deployments and images? [y/N] ") {
		t.Fatalf("declined delete: exit %d %q", code, shown)
	}
	shown, code = ptyRun(t, cli, [][2]string{{"[y/N] ", "y\r"}}, "p", "rm", "shop")
	if code != 0 || !strings.Contains(shown, "Deleted project 'shop'.") {
		t.Fatalf("confirmed delete: exit %d %q", code, shown)
	}
	tok := readToken(t, cli)
	p, err := api.NewClient(srv.URL, tok).GetProject(context.Background(), "shop")
	if err == nil && p.Status != "deleting" {
		t.Errorf("project after delete: %+v", p)
	}
}

func readToken(t *testing.T, cli *cliEnv) string {
	t.Helper()
	b, err := os.ReadFile(cli.Config + "/rise/config.json")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(b), `"token": "`)
	tok, _, _ := strings.Cut(after, `"`)
	return tok
}
