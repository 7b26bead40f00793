package e2e

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/hashicorp/hcl/v2/gohcl"
	hcljson "github.com/hashicorp/hcl/v2/json"

	"github.com/riseplatform/rise/cli"
	"github.com/riseplatform/rise/cli/build"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
	dockerbuilder "github.com/riseplatform/rise/plugins/builder/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/deploy"
	serverregistry "github.com/riseplatform/rise/server/registry"
)

// inProcessDocker launches the docker builder in this process (the plugin
// host does the same out of process in the real binary).
func inProcessDocker(_ context.Context, name string, cfg []byte) (sdk.Builder, error) {
	if name != "docker" {
		return nil, fmt.Errorf("only the docker builder is available in this test, not %q", name)
	}
	b := dockerbuilder.Component().New()
	f, diags := hcljson.Parse(cfg, name+".json")
	if diags.HasErrors() {
		return nil, diags
	}
	if diags := gohcl.DecodeBody(f.Body, nil, b); diags.HasErrors() {
		return nil, diags
	}
	return b.(sdk.Builder), nil
}

// TestDeployFromSource runs `rise deploy` (in process, with the build
// orchestration wired as cmd/rise does) on a Dockerfile app: a real build
// on the Docker Engine, a push with short-lived credentials to a real
// token-authenticated registry, and the rollout on the Docker runtime. The
// output is the seed's four lines. A failing Dockerfile exits 10.
func TestDeployFromSource(t *testing.T) {
	t.Parallel() // waits on containers / the IdP; independent databases and projects
	reg := registrytest.StartRise(t)
	srv := deployServer(t, func(o *deploy.Options, d *server.Deps) {
		o.PullCredentials = func(ctx context.Context, project string) (*sdk.Credentials, error) {
			return reg.Plugin.Credentials(ctx, &sdk.CredentialsRequest{Project: project, Subject: "rise"})
		}
		states, err := deploy.New(*o) // its DeploymentState, as server/wire wires it
		if err != nil {
			t.Fatal(err)
		}
		d.Mounts = append(d.Mounts, server.MountFunc(func(r *mux.Router) {
			serverregistry.Routes(r, serverregistry.Deps{Registry: reg.Plugin, Tokens: reg.Plugin, Deployments: states})
		}))
	})
	alice := login(t, srv, "alice@rise.dev")
	ctx := context.Background()
	project := "src-" + strings.ToLower(randHex(3))
	cleanupProject(t, project)
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: project}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM "+baseimage.Image+"\nRUN mkdir -p /www && echo from-source > /www/index.html\nCMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n")
	writeFile(t, filepath.Join(dir, "rise.hcl"), "project = \""+project+"\"\ndeploy {\n  port = 8080\n  health_path = \"/\"\n}\n")

	cli.SetBuilder(build.DeployFunc(inProcessDocker))
	t.Cleanup(func() { cli.SetBuilder(nil) })
	env := map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token, "XDG_CONFIG_HOME": t.TempDir()}
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := cli.Run(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }})
		return out.String(), errb.String(), code
	}

	_, stderr, code := run("deploy", "--path", dir, "--timeout", "2m")
	want := regexp.MustCompile(`^Building container image '` + regexp.QuoteMeta(reg.Addr) + `/rise/` + project + `:\d{8}-\d{6}' using Dockerfile\.\.\.\n` +
		`Pushing container image to ` + regexp.QuoteMeta(reg.Addr) + `\.\.\.\n` +
		`Deploying '` + project + `' \.\.\.\n` +
		`Deployment successful! Your app is now running at https://` + project + `\.rise\.dev\n$`)
	if code != 0 || !want.MatchString(stderr) {
		t.Fatalf("rise deploy: exit %d\n%s", code, stderr)
	}
	l, err := alice.Client.ListDeployments(ctx, project, "", 0, "")
	if err != nil || len(l.Deployments) != 1 || l.Deployments[0].State != api.StateHealthy || !strings.Contains(l.Deployments[0].ImageDigest, "sha256:") {
		t.Fatalf("deployment after deploy: %+v %v", l, err)
	}

	writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM "+baseimage.Image+"\nRUN exit 3\n")
	_, stderr, code = run("deploy", "--path", dir)
	if code != 10 || !strings.Contains(stderr, "build ") {
		t.Fatalf("failing build: exit %d, want 10\n%s", code, stderr)
	}
	l, err = alice.Client.ListDeployments(ctx, project, "", 0, "")
	if err != nil || len(l.Deployments) != 2 || l.Deployments[0].State != api.StateFailed || l.Deployments[0].Message == "" {
		t.Fatalf("failed build not recorded: %+v %v", l.Deployments[0], err)
	}
}
