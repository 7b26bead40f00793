package e2e

import (
	"context"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/servertest"
)

// seedServer is a real server on a fresh database with the seed's domain
// and the real authentication (localAuth: log users in with login).
func seedServer(t *testing.T) *servertest.Env {
	return servertest.New(t, func(c *config.Server, d *server.Deps) {
		c.Domain, c.AppScheme = "rise.dev", "https"
		d.Auth = localAuth(t, d)
	})
}

// TestSeedTranscript reproduces the seed's session after `rise login`:
//
//	$ rise p c secret-app --visibility private --owner team:devopsy
//	Team 'devopsy' does not exist or you do not have permission to create projects for it. Did you mean 'devops'?
//	$ rise p c secret-app --visibility private --owner team:devops
//	Created project 'secret-app' with private visibility owned by team:devops.
//	$ rise p ls
//	PROJECT         STATUS        URL                             VISIBILITY    OWNER
//	my-first-app    running       https://my-first-app.rise.dev   public        user:niklas
//	secret-app      stopped       https://secret-app.rise.dev     private       team:devops
func TestSeedTranscript(t *testing.T) {
	srv := seedServer(t)
	ctx := context.Background()
	niklas := login(t, srv, "niklas@rise.dev")
	if _, err := niklas.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "devops"}); err != nil {
		t.Fatal(err)
	}
	first, err := niklas.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "my-first-app"})
	if err != nil {
		t.Fatal(err)
	}
	// my-first-app is running in the seed: a deployment would set this; the
	// deployments controller records it the same way.
	p, err := srv.Store.ProjectByName(ctx, first.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.SetProjectStatus(ctx, p.ID, "running"); err != nil {
		t.Fatal(err)
	}

	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": niklas.Token})

	r := cli.rise(t, "p", "c", "secret-app", "--visibility", "private", "--owner", "team:devopsy")
	wantErr := "Team 'devopsy' does not exist or you do not have permission to create projects for it. Did you mean 'devops'?\n"
	if r.Err != wantErr || r.Out != "" || r.Code == 0 {
		t.Fatalf("typo'd team:\n exit %d\n stderr %q\n want   %q\n stdout %q", r.Code, r.Err, wantErr, r.Out)
	}

	r = cli.rise(t, "p", "c", "secret-app", "--visibility", "private", "--owner", "team:devops")
	if want := "Created project 'secret-app' with private visibility owned by team:devops.\n"; r.Err != want || r.Code != 0 {
		t.Fatalf("create: exit %d stderr %q want %q", r.Code, r.Err, want)
	}

	r = cli.rise(t, "p", "ls")
	want := "PROJECT         STATUS        URL                             VISIBILITY    OWNER\n" +
		"my-first-app    running       https://my-first-app.rise.dev   public        user:niklas\n" +
		"secret-app      stopped       https://secret-app.rise.dev     private       team:devops\n"
	if r.Out != want || r.Code != 0 || r.Err != "" {
		t.Fatalf("p ls: exit %d stderr %q\n got\n%s\n want\n%s", r.Code, r.Err, r.Out, want)
	}
}
