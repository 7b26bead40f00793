package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
)

// TestCrossProjectImagesRiseServer runs the cross-project image attacks
// against the real `rise server` binary as configured by server.hcl
// (PostgreSQL, a token-authenticated registry, the Docker runtime), with two
// non-admin local users in different teams: Alice cannot deploy Bob's
// private image (same answer as a missing one), and a listener she names as
// registry host gets no request at all. server/deploy's
// TestImageIsolationAttacks covers the rest in depth.
func TestCrossProjectImagesRiseServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a registry, PostgreSQL and the Docker Engine")
	}
	t.Parallel()
	base := baseimage.Require(t, "docker")
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	public := "http://127.0.0.1:" + strconv.Itoa(port)
	key, crt := writeTokenKeyPair(t, t.TempDir())
	reg := registrytest.Start(t, registrytest.Options{
		Realm: public + "/api/v1/registry/token", Service: "rise-registry", Issuer: "rise", RootCertBundle: crt,
	})
	// Registered before the server starts, so the clean-up runs after the
	// server (and its deployment controller) stopped and cannot re-create
	// the containers.
	mine, theirs := "mine-"+strings.ToLower(randHex(3)), "theirs-"+strings.ToLower(randHex(3))
	t.Cleanup(func() {
		removeProjectContainers(t, mine)
		removeProjectContainers(t, theirs)
	})
	srv := startSessionServer(t, port, fmt.Sprintf(`
auth {
  local {
    user "alice@team-a.test" {
      password_hash = %[1]q
    }
    user "bob@team-b.test" {
      password_hash = %[1]q
    }
  }
}
registry "docker" {
  url              = %[2]q
  service          = "rise-registry"
  issuer           = "rise"
  signing_key_file = %[3]q
  certificate_file = %[4]q
}
runtime "docker" {
  bind_address = "127.0.0.1"
  stop_timeout = "1s"
}
`, hash, reg.Addr, key, crt))
	ctx := context.Background()
	login := func(email string) *api.Client {
		tok, err := api.NewClient(srv.URL, "").Login(ctx, api.LoginRequest{Email: email, Password: "pw"})
		if err != nil {
			t.Fatalf("login %s: %v", email, err)
		}
		return api.NewClient(srv.URL, tok.Token)
	}
	alice, bob := login("alice@team-a.test"), login("bob@team-b.test")
	for _, p := range []struct {
		c             *api.Client
		team, project string
	}{{alice, "team-a", mine}, {bob, "team-b", theirs}} {
		if _, err := p.c.CreateTeam(ctx, api.CreateTeamRequest{Name: p.team}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.c.CreateProject(ctx, api.CreateProjectRequest{Name: p.project, Owner: "team:" + p.team}); err != nil {
			t.Fatal(err)
		}
	}

	// Bob pushes his private image with the push credentials rise hands him.
	d, err := bob.CreateDeployment(ctx, theirs, &api.CreateDeploymentRequest{})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := bob.RegistryCredentials(ctx, theirs, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	docker := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command("docker", args...)
		cmd.Env = []string{"DOCKER_CONFIG=" + t.TempDir(), "PATH=/usr/bin:/bin:/usr/local/bin"}
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	bobRef := creds.Repository + ":v1"
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", bobRef).Run() })
	docker("", "tag", base, bobRef)
	cfg := t.TempDir()
	for _, args := range [][]string{
		{"--config", cfg, "login", "--username", creds.Username, "--password-stdin", creds.Registry},
		{"--config", cfg, "push", bobRef},
	} {
		docker(creds.Password, args...)
	}
	pinned, err := bob.CreateDeployment(ctx, theirs, &api.CreateDeploymentRequest{Image: bobRef})
	if err != nil {
		t.Fatalf("bob deploys his image: %v", err)
	}

	missing := reg.Addr + "/rise/nosuch-" + strings.ToLower(randHex(3)) + ":v1"
	_, err = alice.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: missing})
	want := strings.ReplaceAll(errText(err), missing, "REF")
	if api.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("missing image: %v", err)
	}
	for _, ref := range []string{bobRef, pinned.ImageDigest} {
		_, err := alice.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ref})
		if api.StatusOf(err) != http.StatusNotFound || strings.ReplaceAll(errText(err), ref, "REF") != want {
			t.Errorf("alice deploys bob's %s: %v\nwant the missing-image answer %q", ref, err, want)
		}
	}

	var hits atomic.Int32
	lis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(lis.Close)
	ref := strings.TrimPrefix(lis.URL, "http://") + "/rise/" + theirs + ":v1"
	_, err = alice.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ref})
	if api.StatusOf(err) != http.StatusBadRequest || strings.Contains(errText(err), "dial") || strings.Contains(errText(err), "refused") {
		t.Errorf("listener as registry: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the listener named as registry host received %d request(s)", n)
	}
}

func errText(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Message + " | " + strings.Join(e.Suggestions, " | ")
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
