package docker_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
	dockerregistry "github.com/riseplatform/rise/plugins/registry/docker"
	"github.com/riseplatform/rise/sdk"
)

// dockerCLI runs the docker CLI with a private config dir (never ~/.docker).
type dockerCLI struct {
	t      *testing.T
	config string
}

func (d dockerCLI) run(stdin string, args ...string) (string, error) {
	cmd := exec.Command("docker", append([]string{"--config", d.config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d dockerCLI) login(c *sdk.Credentials) (string, error) {
	return d.run(c.Password, "login", "--username", c.Username, "--password-stdin", c.Registry)
}

// TestPushWithRiseTokens pushes to a real distribution registry whose token
// service is rise's realm backed by this plugin.
func TestPushWithRiseTokens(t *testing.T) {
	base := baseimage.Require(t, "docker")
	reg := registrytest.StartRise(t)
	cli := dockerCLI{t: t, config: t.TempDir()}

	credsA := reg.Credentials(t, "app-a", true, 0)
	if out, err := cli.login(credsA); err != nil {
		t.Fatalf("docker login with project A credentials: %v: %s", err, out)
	}
	imageA := credsA.Repository + ":v1"
	imageB := reg.Addr + "/rise/app-b:v1"
	for _, img := range []string{imageA, imageB} {
		if out, err := cli.run("", "tag", base, img); err != nil {
			t.Fatalf("tag: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "rmi", img).Run() })
	}
	if out, err := cli.run("", "push", imageA); err != nil {
		t.Fatalf("push to own repository: %v: %s\nregistry log:\n%s", err, out, reg.Logs())
	}

	// The image landed, and Resolve pins it.
	art, err := reg.Plugin.Resolve(context.Background(), imageA)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if !strings.HasPrefix(art.Digest, "sha256:") || art.Tag != "v1" || art.Repository != credsA.Repository {
		t.Fatalf("Resolve = %+v", art)
	}
	if short, err := reg.Plugin.Resolve(context.Background(), "app-a:v1"); err != nil || short.Digest != art.Digest {
		t.Fatalf("Resolve(app-a:v1) = %+v, %v", short, err)
	}
	if _, err := reg.Plugin.Resolve(context.Background(), "app-a:nope"); err == nil {
		t.Fatal("Resolve of a missing tag succeeded")
	}

	// Project A's credentials cannot push to project B.
	out, err := cli.run("", "push", imageB)
	if err == nil {
		t.Fatalf("push to another project's repository succeeded: %s", out)
	}
	if !strings.Contains(strings.ToLower(out), "denied") && !strings.Contains(strings.ToLower(out), "unauthorized") {
		t.Fatalf("push to B failed for another reason: %s", out)
	}

	// Pull-only credentials cannot push to their own repository.
	pull := reg.Credentials(t, "app-a", false, 0)
	pullCLI := dockerCLI{t: t, config: t.TempDir()}
	if out, err := pullCLI.login(pull); err != nil {
		t.Fatalf("login with pull credentials: %v: %s", err, out)
	}
	if out, err := pullCLI.run("", "push", imageA); err == nil {
		t.Fatalf("push with pull-only credentials succeeded: %s", out)
	}
}

func TestExpiredCredentialsAndTokensAreRefused(t *testing.T) {
	reg := registrytest.StartRise(t)

	// Expired credentials: the realm refuses to exchange them.
	creds := reg.Credentials(t, "app-a", true, time.Second)
	time.Sleep(time.Until(creds.ExpiresAt) + 1100*time.Millisecond)
	req, _ := http.NewRequest("GET", reg.Realm+"?service=rise-registry&scope=repository:rise/app-a:push,pull", nil)
	req.SetBasicAuth(creds.Username, creds.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("realm with expired credentials = %d, want 401", resp.StatusCode)
	}
	if _, err := exec.LookPath("docker"); err == nil {
		cli := dockerCLI{t: t, config: t.TempDir()}
		if out, err := cli.login(creds); err == nil {
			t.Fatalf("docker login with expired credentials succeeded: %s", out)
		}
	}

	// An expired registry token: the registry itself refuses it.
	dockerregistry.SetClock(reg.Plugin, func() time.Time { return time.Now().Add(-time.Hour) })
	old, err := dockerregistry.RegistryToken(reg.Plugin, "rise/app-a", "pull")
	dockerregistry.SetClock(reg.Plugin, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := dockerregistry.RegistryToken(reg.Plugin, "rise/app-a", "pull")
	for tok, want := range map[string]int{old: http.StatusUnauthorized, fresh: http.StatusNotFound} {
		req, _ := http.NewRequest("GET", reg.URL()+"/v2/rise/app-a/tags/list", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("registry with token = %d, want %d\n%s", resp.StatusCode, want, reg.Logs())
		}
	}
}
