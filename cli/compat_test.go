package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
)

// recorder is a stand-in rise API that records every request (method,
// path, query, body) and answers with plausible documents, so that two
// spellings of a command can be compared by the requests they send.
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r.Method+" "+r.URL.RequestURI()+" "+strings.TrimSpace(string(body)))
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/")
	project := ""
	if len(parts) > 1 && parts[0] == "projects" {
		project = parts[1]
	}
	switch {
	case len(parts) >= 3 && parts[2] == "deployments":
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "20261123-142501", "project": project, "state": "Pending",
			"deployments": []any{}})
	case len(parts) >= 3 && parts[2] == "service-accounts":
		_ = json.NewEncoder(w).Encode(map[string]any{"service_accounts": []any{}})
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"name": project, "visibility": "public", "owner": "user:a"})
	}
}

func (rc *recorder) take() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.reqs
	rc.reqs = nil
	return out
}

// TestFlagAliases runs each command as this CLI spells it and as the
// reference rise does (-p/--project, -i, --http-port, --backend, 1w/7d
// durations, PROJECT:ID, a PATH argument) and requires the same requests.
func TestFlagAliases(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	var builds []string
	SetBuilder(func(_ context.Context, req clictx.BuildRequest) (*clictx.BuildResult, error) {
		builds = append(builds, req.Builder+" "+req.BuilderImage+" "+filepath.Base(req.Dir)+" "+req.Image)
		return &clictx.BuildResult{Image: req.Image, Digest: "sha256:abc"}, nil
	})
	t.Cleanup(func() { SetBuilder(nil) })
	app := filepath.Join(t.TempDir(), "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(app)) // no app config here: every project is explicit
	env := map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": "t"}
	id := "20261123-142501"
	for _, c := range []struct {
		name     string
		variants [][]string
	}{
		{"deploy image", [][]string{
			{"deploy", "shop", "--image", "img:1", "--port", "80", "--expire", "168h", "--detach"},
			{"deploy", "-p", "shop", "-i", "img:1", "--http-port", "80", "--expire", "1w", "--detach"},
			{"d", "c", "--project", "shop", "--image", "img:1", "--http-port", "80", "--expire", "7d", "--detach"},
		}},
		{"deploy build", [][]string{
			{"deploy", "shop", "--path", app, "--builder", "docker", "--detach"},
			{"deploy", app, "-p", "shop", "--backend", "docker", "--detach"},
		}},
		{"deploy pack builder image", [][]string{
			{"deploy", "shop", "--path", app, "--builder", "pack", "--detach"},
			{"deploy", "shop", "--path", app, "--backend", "pack", "--detach"},
		}},
		{"deployment list", [][]string{{"d", "ls", "shop"}, {"d", "ls", "-p", "shop"}}},
		{"deployment show", [][]string{{"d", "s", "shop", id}, {"d", "s", "-p", "shop", id}, {"d", "s", "shop:" + id}}},
		{"deployment stop", [][]string{{"d", "stop", "shop", id}, {"d", "stop", "-p", "shop", id}}},
		{"deployment rollback", [][]string{{"d", "rollback", "shop", id, "--detach"}, {"d", "rollback", "-p", "shop", id, "--detach"}}},
		{"project create", [][]string{{"p", "c", "shop"}, {"p", "c", "-p", "shop"}}},
		{"project show", [][]string{{"p", "s", "shop"}, {"p", "s", "-p", "shop"}}},
		{"project update", [][]string{{"p", "u", "shop", "--visibility", "private"}, {"p", "u", "-p", "shop", "--visibility", "private"}}},
		{"project delete", [][]string{{"p", "rm", "shop", "--yes"}, {"p", "rm", "-p", "shop", "--yes"}}},
		{"service-account list", [][]string{{"sa", "ls", "shop"}, {"sa", "ls", "-p", "shop"}}},
		{"environment create", [][]string{{"envs", "c", "shop", "staging", "--replicas", "2"}, {"environment", "create", "staging", "-p", "shop", "--replicas", "2"}}},
		{"environment list", [][]string{{"envs", "ls", "shop"}, {"environment", "l", "-p", "shop"}}},
		{"deployment stop group", [][]string{{"d", "stop", "shop", "--group", "mr/27", "-E", "staging"}, {"d", "stop", "-p", "shop", "--group", "mr/27", "--environment", "staging"}}},
		{"deploy from", [][]string{{"deploy", "shop", "--from", "staging", "-E", "production", "--detach"},
			{"d", "c", "-p", "shop", "--from", "staging", "--environment", "production", "--detach"}}},
		{"service-account delete", [][]string{{"sa", "rm", "shop", "abc", "--yes"}, {"sa", "rm", "-p", "shop", "abc", "--yes"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var first []string
			var firstBuilds []string
			for i, args := range c.variants {
				builds = nil
				r := run(t, env, args...)
				got := rc.take()
				if len(got) == 0 {
					t.Fatalf("%v sent no request: exit %d %s", args, r.code, r.err)
				}
				if i == 0 {
					first, firstBuilds = got, builds
					t.Logf("%v: %q %q", args, got, builds)
					continue
				}
				if strings.Join(got, "\n") != strings.Join(first, "\n") || strings.Join(builds, "\n") != strings.Join(firstBuilds, "\n") {
					t.Errorf("%v sent\n%s\nbuilt %v\nwant (as %v)\n%s\nbuilt %v", args, strings.Join(got, "\n"), builds, c.variants[0], strings.Join(first, "\n"), firstBuilds)
				}
			}
		})
	}
}

// TestProjectGivenTwice: a positional PROJECT and a different -p are a
// usage error, never a silent choice.
func TestProjectGivenTwice(t *testing.T) {
	t.Chdir(t.TempDir())
	env := map[string]string{"RISE_URL": "http://127.0.0.1:1", "RISE_TOKEN": "t"}
	for _, args := range [][]string{
		{"d", "ls", "shop", "-p", "other"},
		{"d", "s", "shop", "20261123-142501", "-p", "other"},
		{"deploy", "shop", "-p", "other", "-i", "img"},
		{"p", "s", "shop", "--project", "other"},
		{"deploy", "./app", "--path", "./other", "-p", "shop", "-i", "img"},
	} {
		if r := run(t, env, args...); r.code != exitcode.Usage || !strings.Contains(r.err, "given twice") {
			t.Errorf("%v: exit %d %q", args, r.code, r.err)
		}
	}
	// Deleting never takes the project from the app file.
	if err := os.WriteFile(".rise.toml", []byte("project = \"shop\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, "p", "rm", "--yes"); r.code != exitcode.Usage || !strings.Contains(r.err, "name the project") {
		t.Errorf("p rm without a name: exit %d %q", r.code, r.err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90m": 90 * time.Minute, "2h": 2 * time.Hour, "7d": 7 * 24 * time.Hour, "1w": 7 * 24 * time.Hour,
		"1w2d12h": 9*24*time.Hour + 12*time.Hour, "1.5d": 36 * time.Hour, "30s": 30 * time.Second,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "7", "d", "-1h", "0w", "3y", "1w-2d"} {
		if d, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, d)
		}
	}
}

// TestDeployReadsReferenceTOML: a reference rise rise.toml ([project]
// name, [project.env], [deploy] http_port) drives `rise deploy`, and an
// unknown key stops it with file:line and a suggestion.
func TestDeployReadsReferenceTOML(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	t.Chdir(dir)
	env := map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": "t"}
	write := func(s string) {
		if err := os.WriteFile("rise.toml", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[project]\nname = \"shop\"\n\n[project.env]\nLOG_LEVEL = \"info\"\n\n[deploy]\nhttp_port = 3000\n\n[environments.staging.env]\nX = \"1\"\n")
	r := run(t, env, "deploy", "-i", "img:1", "--detach")
	got := strings.Join(rc.take(), "\n")
	if r.code != 0 || !strings.Contains(got, "POST /api/v1/projects/shop/deployments ") || !strings.Contains(got, `"port":3000`) || !strings.Contains(got, `"LOG_LEVEL":"info"`) {
		t.Fatalf("deploy: exit %d\n%s\nrequests:\n%s", r.code, r.err, got)
	}
	if !strings.Contains(r.err, "[environments.staging] is checked but not applied") {
		t.Errorf("no warning about [environments.staging]:\n%s", r.err)
	}
	write("[project]\nname = \"shop\"\n\n[deploy]\nhttp_prot = 3000\n")
	r = run(t, env, "deploy", "-i", "img:1", "--detach")
	if r.code == 0 || !strings.Contains(r.err, "rise.toml line 5") || !strings.Contains(r.err, `did you mean "http_port"?`) || len(rc.take()) != 0 {
		t.Fatalf("unknown key: exit %d\n%s", r.code, r.err)
	}
}

// TestRunRefusals: rise run refuses what rise cannot do yet, or bad
// input, before building anything.
func TestRunRefusals(t *testing.T) {
	t.Chdir(t.TempDir())
	built := false
	SetBuilder(func(context.Context, clictx.BuildRequest) (*clictx.BuildResult, error) {
		built = true
		return nil, nil
	})
	t.Cleanup(func() { SetBuilder(nil) })
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--with-secrets"}, "--with-secrets is not supported yet"},
		{[]string{"run", "-e", "NOVALUE"}, `invalid --env "NOVALUE"`},
		{[]string{"run", "--http-port", "70000"}, "ports are 1 to 65535"},
		{[]string{"run", "-p", "Bad_Name"}, "invalid project"},
	} {
		if r := run(t, nil, c.args...); r.code != exitcode.Usage || !strings.Contains(r.err, c.want) {
			t.Errorf("%v: exit %d %q, want usage error %q", c.args, r.code, r.err, c.want)
		}
	}
	if built {
		t.Error("built despite a refusal")
	}
}

// TestBuilderFlag: the reference rise's --builder is the buildpacks builder
// image, this CLI's the builder plugin; both readings reach the build.
func TestBuilderFlag(t *testing.T) {
	for _, c := range []struct {
		f                buildFlags
		backend, builder string
	}{
		{buildFlags{builder: "docker"}, "docker", ""},
		{buildFlags{builder: "railpack:buildctl"}, "railpack:buildctl", ""},
		{buildFlags{backend: "pack"}, "pack", ""},
		{buildFlags{backend: "pack", builder: "heroku/builder:24"}, "pack", "heroku/builder:24"},
		{buildFlags{builder: "paketobuildpacks/builder-jammy-base"}, "", "paketobuildpacks/builder-jammy-base"},
	} {
		if b, img := c.f.resolve(); b != c.backend || img != c.builder {
			t.Errorf("%+v: backend %q image %q, want %q %q", c.f, b, img, c.backend, c.builder)
		}
	}
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	var got clictx.BuildRequest
	SetBuilder(func(_ context.Context, req clictx.BuildRequest) (*clictx.BuildResult, error) {
		got = req
		return &clictx.BuildResult{Image: req.Image}, nil
	})
	t.Cleanup(func() { SetBuilder(nil) })
	t.Chdir(t.TempDir())
	r := run(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": "t"}, "deploy", "-p", "shop", "--backend", "pack", "--builder", "heroku/builder:24", "--detach")
	if r.code != 0 || got.Builder != "pack" || got.BuilderImage != "heroku/builder:24" {
		t.Fatalf("exit %d %s: build request %+v", r.code, r.err, got)
	}
}
