package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/examples/plugins/ecs/ecsfake"
)

// ecsImage is a digest-pinned image as the ECS runtime requires.
const ecsImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rise/shop@sha256:" +
	"4a1f5e7b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"

// TestECSPluginEndToEnd drives the example ECS runtime plugin
// (examples/plugins/ecs, its own binary) through a real `rise server` on a
// real PostgreSQL database: the server loads the plugin by path with a
// sha256 pin and an explicit environment, validates the runtime block
// against the plugin's schema, and `rise deploy --image` reaches Healthy
// against the ECS protocol fake; `rise d stop` scales the service to 0.
func TestECSPluginEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rise and rise-plugin-ecs, starts PostgreSQL and rise server")
	}
	t.Parallel()  // own database, fake and project
	riseBinary(t) // build it before the plugin; both are needed
	plugin, sum := buildECSPlugin(t)
	fake := ecsfake.Start()
	t.Cleanup(fake.Close)

	hash, err := bcrypt.GenerateFromPassword([]byte("ecs-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	auth := fmt.Sprintf(`auth {
  local {
    user "ops@rise.dev" {
      password_hash = %q
      name          = "Ops"
    }
  }
}
`, hash)
	port := freePort(t)
	srv := startSessionServer(t, port, auth+ecsHCL(t, plugin, sum, fake.URL))

	cli := newCLIEnv(t, nil)
	run := func(want int, args ...string) result {
		t.Helper()
		r := cli.rise(t, args...)
		if r.Code != want {
			t.Fatalf("$ rise %s\nexit %d, want %d\nstdout:\n%s\nstderr:\n%s\nserver log (tail):\n%s",
				strings.Join(args, " "), r.Code, want, r.Out, r.Err, tail(srv.logs.String(), 40))
		}
		return r
	}
	run(0, "login", "--url", srv.URL, "--email", "ops@rise.dev", "--password", "ecs-pass")
	run(0, "project", "create", "shop")

	r := run(0, "deploy", "shop", "--image", ecsImage, "--port", "8080", "--env", "GREETING=hi", "--timeout", "2m")
	want := "Deploying 'shop' ...\nDeployment successful! Your app is now running at http://shop.localhost:" + strconv.Itoa(port) + "\n"
	if r.Err != want {
		t.Errorf("deploy stderr %q\nwant           %q", r.Err, want)
	}

	// The plugin registered a task definition pinned to the digest and
	// created the service for it.
	td := fake.Last("RegisterTaskDefinition")
	if td == nil {
		t.Fatalf("the fake saw no RegisterTaskDefinition; calls: %q", fake.Calls())
	}
	c := td["containerDefinitions"].([]any)[0].(map[string]any)
	if c["image"] != ecsImage || td["family"] != "rise-shop" || td["cpu"] != "256" || td["memory"] != "512" {
		t.Errorf("task definition: image %v family %v cpu %v memory %v", c["image"], td["family"], td["cpu"], td["memory"])
	}
	if pm, _ := c["portMappings"].([]any); len(pm) != 1 || pm[0].(map[string]any)["containerPort"] != 8080.0 {
		t.Errorf("port mappings %v", c["portMappings"])
	}
	if !strings.Contains(fmt.Sprint(c["environment"]), "GREETING") {
		t.Errorf("environment %v lacks GREETING", c["environment"])
	}
	cs := fake.Last("CreateService")
	if cs == nil || cs["serviceName"] != "rise-shop" || cs["cluster"] != "apps" || cs["launchType"] != "FARGATE" || cs["desiredCount"] != 1.0 {
		t.Fatalf("CreateService = %v", cs)
	}
	svc, ok := fake.Service("rise-shop")
	if !ok || svc.RolloutState != "COMPLETED" || svc.RunningCount != 1 || fake.Image(svc.TaskDefinition) != ecsImage {
		t.Fatalf("service after deploy: %+v", svc)
	}

	r = run(0, "d", "ls", "shop", "-o", "json")
	var ds []api.Deployment
	if err := json.Unmarshal([]byte(r.Out), &ds); err != nil || len(ds) != 1 || ds[0].State != api.StateHealthy {
		t.Fatalf("d ls: %v %q", err, r.Out)
	}
	id := ds[0].ID

	r = run(0, "d", "stop", "shop", id)
	if !strings.HasPrefix(r.Err, "Stopping deployment "+id+" of 'shop'") {
		t.Errorf("d stop stderr %q", r.Err)
	}
	// The controller stops the deployment through the plugin: the service
	// is scaled to 0 and the deployment ends Stopped.
	pollUntil(t, 60*time.Second, func() (bool, string) {
		svc, _ := fake.Service("rise-shop")
		r := cli.rise(t, "d", "ls", "shop", "-o", "json")
		var ds []api.Deployment
		_ = json.Unmarshal([]byte(r.Out), &ds)
		state := "?"
		if len(ds) == 1 {
			state = string(ds[0].State)
		}
		return svc.DesiredCount == 0 && state == string(api.StateStopped),
			fmt.Sprintf("desired count %d, deployment %s\nserver log (tail):\n%s", svc.DesiredCount, state, tail(srv.logs.String(), 30))
	})
	if u := fake.Last("UpdateService"); u == nil || u["desiredCount"] != 0.0 || u["service"] != "rise-shop" {
		t.Errorf("last UpdateService = %v, want desiredCount 0", u)
	}
}

// TestECSPluginChecksum: `rise server check` with a wrong sha256 fails
// naming the plugin; with the right one it passes; `rise plugin list` shows
// the plugin with its path as the source.
func TestECSPluginChecksum(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rise and rise-plugin-ecs")
	}
	t.Parallel()
	plugin, sum := buildECSPlugin(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("ecs-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cli := newCLIEnv(t, nil)
	write := func(name, sha string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, `listen     = "127.0.0.1:0"
public_url = "http://127.0.0.1:3000"
domain     = "localhost"
data_dir   = "`+filepath.Join(dir, "data")+`"
database { url = "postgres://unused@127.0.0.1:1/rise" }
auth {
  local {
    user "ops@rise.dev" { password_hash = "`+string(hash)+`" }
  }
}
`+ecsHCL(t, plugin, sha, "http://127.0.0.1:1"))
		return p
	}

	bad := strings.Repeat("0", 64)
	r := cli.rise(t, "server", "check", "--config", write("bad.hcl", bad))
	if r.Code == 0 || !strings.Contains(r.Err, "plugin ecs failed to start: the SHA-256 checksum of "+plugin+" does not match the configured sha256") {
		t.Errorf("server check with a wrong sha256: exit %d\nstderr %q\nwant a failure naming the plugin and its checksum", r.Code, r.Err)
	}
	r = cli.rise(t, "server", "check", "--config", write("good.hcl", sum))
	if r.Code != 0 {
		t.Errorf("server check with the right sha256: exit %d\nstdout %q\nstderr %q", r.Code, r.Out, r.Err)
	}

	// A typo in the runtime block is caught against the plugin's schema.
	typo := filepath.Join(dir, "typo.hcl")
	good, _ := os.ReadFile(filepath.Join(dir, "good.hcl"))
	writeFile(t, typo, strings.Replace(string(good), "cluster ", "clustr  ", 1))
	r = cli.rise(t, "server", "check", "--config", typo)
	if r.Code == 0 || !regexp.MustCompile(`Error: Unsupported argument\n\n  on \S+typo\.hcl line \d+:\n.*clustr.*\n\nAn argument named "clustr" is not expected here\. Did you mean "cluster"\?`).MatchString(r.Err) {
		t.Errorf("server check with a typo: exit %d\nstderr %q", r.Code, r.Err)
	}

	// The example config of the plugin guide passes as the guide runs it.
	cli.Vars["ECS_PLUGIN"], cli.Vars["ECS_PLUGIN_SHA256"] = plugin, sum
	example, err := filepath.Abs("../examples/plugins/ecs/server.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if r := cli.rise(t, "server", "check", "--config", example); r.Code != 0 || !strings.HasSuffix(r.Err, example+" is valid.\n") {
		t.Errorf("server check %s: exit %d\nstderr %q", example, r.Code, r.Err)
	}
	delete(cli.Vars, "ECS_PLUGIN")
	delete(cli.Vars, "ECS_PLUGIN_SHA256")

	row := regexp.MustCompile(`(?m)^runtime +ecs +0\.1\.0 +` + regexp.QuoteMeta(plugin) + ` +logs,destroy,rollback$`)
	t.Run("plugin dir", func(t *testing.T) {
		cli.Vars["RISE_PLUGIN_DIR"] = filepath.Dir(plugin)
		defer delete(cli.Vars, "RISE_PLUGIN_DIR")
		r := cli.rise(t, "plugin", "list")
		if r.Code != 0 || !row.MatchString(r.Out) {
			t.Errorf("plugin list with RISE_PLUGIN_DIR: exit %d\n%s%s", r.Code, r.Out, r.Err)
		}
	})
	t.Run("server config", func(t *testing.T) {
		r := cli.rise(t, "plugin", "list", "--config", filepath.Join(dir, "good.hcl"))
		if r.Code != 0 || !row.MatchString(r.Out) {
			t.Errorf("plugin list --config: exit %d\n%s%s", r.Code, r.Out, r.Err)
		}
	})
}

// buildECSPlugin builds rise-plugin-ecs into a temporary directory and
// returns its path and SHA-256.
func buildECSPlugin(t *testing.T) (path, sum string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "rise-plugin-ecs")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(goBin, "build", "-o", path, ".") // its own module
	cmd.Dir = "../examples/plugins/ecs"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build ./examples/plugins/ecs: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return path, hex.EncodeToString(h[:])
}

// ecsHCL is the plugin and runtime blocks of server.hcl for the ECS plugin
// at path talking to the fake at endpoint.
func ecsHCL(t *testing.T, path, sum, endpoint string) string {
	var env []string
	for k, v := range ecsfake.Env(t.TempDir()) {
		env = append(env, fmt.Sprintf("    %s = %q", k, v))
	}
	return fmt.Sprintf(`
plugin "ecs" {
  path   = %q
  sha256 = %q
  env = {
%s
  }
}

runtime "ecs" {
  region   = %q
  cluster  = "apps"
  subnets  = ["subnet-0a1", "subnet-0b2"]
  endpoint = %q
}
`, path, sum, strings.Join(env, "\n"), ecsfake.Region, endpoint)
}

// pollUntil polls cond every 200ms until it holds or timeout passes.
func pollUntil(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not after %s: %s", timeout, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
