package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/keyring"
	"github.com/riseplatform/rise/server/variables"
)

// withVariables adds the variables API (local key) to a deployServer.
func withVariables(t *testing.T) func(*deploy.Options, *server.Deps) {
	return func(o *deploy.Options, d *server.Deps) {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		kr, err := keyring.FromConfig(context.Background(), &config.Encryption{Provider: "local", Key: base64.StdEncoding.EncodeToString(key)})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := variables.New(variables.Options{Store: d.Store, Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		o.Variables = svc
		d.Mounts = append(d.Mounts, svc)
	}
}

// riseStdin runs the binary with stdin.
func (e *cliEnv) riseStdin(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(riseBinary(t), args...)
	cmd.Dir, cmd.Env, cmd.Stdin = e.Dir, e.environ(), strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run rise %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// TestEnvSession is a whole `rise env` session on the real binary against
// a server deploying on the real Docker Engine. Every command's stdout and
// stderr is checked: a protected value is never printed, a secret only
// when revealed by its owner.
func TestEnvSession(t *testing.T) {
	t.Parallel()
	srv := deployServer(t, withVariables(t))
	alice, bob := login(t, srv, "alice@rise.dev"), login(t, srv, "bob@rise.dev")
	project := "env-" + strings.ToLower(randHex(3))
	cleanupProject(t, project)
	if _, err := alice.Client.CreateProject(context.Background(), api.CreateProjectRequest{Name: project}); err != nil {
		t.Fatal(err)
	}
	cli := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": alice.Token})
	writeFile(t, filepath.Join(cli.Dir, "rise.hcl"), strings.ReplaceAll(appHCL, "%s", project))
	protected, protected2 := "prot-"+randHex(8), "prot2-"+randHex(8)
	secret, fileSecret, once := "sec-"+randHex(8), "fsec-"+randHex(8), "once-"+randHex(8)
	writeFile(t, filepath.Join(cli.Dir, "prod.env"), "# production\nexport FEATURE=on\nTOKEN=secret:"+fileSecret+
		"\nSIGNING_KEY=\"protected:"+protected2+"\"\n")
	writeFile(t, filepath.Join(cli.Dir, "deploy.env"), "EXTRA=1\nDEPLOY_SECRET=secret:"+once+"\n")

	var outputs []string
	run := func(stdin string, wantCode int, args ...string) result {
		t.Helper()
		r := cli.riseStdin(t, stdin, args...)
		outputs = append(outputs, "$ rise "+strings.Join(args, " ")+"\n"+r.Out+r.Err)
		if r.Code != wantCode {
			t.Fatalf("rise %s: exit %d (want %d)\nstdout %q\nstderr %q", strings.Join(args, " "), r.Code, wantCode, r.Out, r.Err)
		}
		return r
	}

	r := run("", 0, "env", "set", "LOG_LEVEL=debug", "REGION=eu")
	if !strings.Contains(r.Err, "Set LOG_LEVEL, REGION in project '"+project+"'.") {
		t.Errorf("set: %q", r.Err)
	}
	run(secret+"\n", 0, "env", "set", "API_KEY=-", "--secret")
	r = run(protected, 0, "e", "set", "DB_PASSWORD=-", "--protected")
	if !strings.Contains(r.Err, "DB_PASSWORD (protected)") {
		t.Errorf("set protected: %q", r.Err)
	}
	run("", 0, "env", "import", "prod.env")
	r = run("", 0, "env", "list")
	for _, want := range []string{"API_KEY", "secret", "••••••", "DB_PASSWORD", "protected", "LOG_LEVEL", "debug", "user:alice"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("env list lacks %q:\n%s", want, r.Out)
		}
	}
	r = run("", 0, "env", "ls", "-o", "json")
	var vs []api.Variable
	if err := json.Unmarshal([]byte(r.Out), &vs); err != nil || len(vs) != 7 {
		t.Fatalf("env ls -o json: %v %q", err, r.Out)
	}
	if r := run("", 0, "env", "get", "LOG_LEVEL"); r.Out != "debug\n" {
		t.Errorf("get plain: %q", r.Out)
	}
	if r := run("", 0, "env", "get", "API_KEY"); r.Out != "••••••\n" || !strings.Contains(r.Err, "--reveal") {
		t.Errorf("get secret: %q %q", r.Out, r.Err)
	}
	if r := run("", 0, "env", "get", "API_KEY", "--reveal"); r.Out != secret+"\n" {
		t.Errorf("get --reveal: %q", r.Out)
	}
	r = run("", 5, "env", "get", "DB_PASSWORD", "--reveal")
	if !strings.Contains(r.Err, "DB_PASSWORD is protected") {
		t.Errorf("reveal protected: %q", r.Err)
	}
	run("", 0, "env", "get", "DB_PASSWORD", "-o", "json")
	r = run("", 0, "env", "export")
	if !strings.Contains(r.Out, `LOG_LEVEL="debug"`) || strings.Contains(r.Out, "API_KEY") || !strings.Contains(r.Err, "API_KEY") {
		t.Errorf("export: %q %q", r.Out, r.Err)
	}
	r = run("", 0, "env", "export", "--reveal")
	if !strings.Contains(r.Out, `API_KEY="`+secret+`"`) || !strings.Contains(r.Out, `TOKEN="`+fileSecret+`"`) || strings.Contains(r.Out, "DB_PASSWORD") {
		t.Errorf("export --reveal: %q", r.Out)
	}
	run("", 2, "env", "set", "RISE_PROJECT=x")
	run("", 2, "env", "set", "lower=x")

	// Deploy with the stored variables, a file and a one-off secret.
	r = run("", 0, "deploy", "--image", baseimage.Image, "--timeout", "2m", "--env-file", "deploy.env", "--secret-env", "ONE_OFF=-")
	if !strings.Contains(r.Err, "Deployment successful!") {
		t.Fatalf("deploy: %q", r.Err)
	}
	r = run(once, 0, "deploy", "--image", baseimage.Image, "--timeout", "2m", "--secret-env", "ONE_OFF=-", "-o", "json")
	var d api.Deployment
	if err := json.Unmarshal([]byte(r.Out), &d); err != nil || d.State != api.StateHealthy {
		t.Fatalf("deploy -o json: %v %q", err, r.Out)
	}
	run("", 0, "d", "show", d.ID, "-o", "json")
	run("", 0, "d", "ls", "-o", "json")
	r = run("", 0, "env", "set", "LOG_LEVEL=info", "--deploy")
	if !strings.Contains(r.Err, "Redeploying as deployment") {
		t.Errorf("set --deploy: %q", r.Err)
	}
	run("", 0, "env", "unset", "REGION", "FEATURE")
	run("", 6, "env", "unset", "REGION")
	run("", 0, "audit", "-o", "json")

	// A stranger sees "not found", exactly as for a missing project.
	stranger := newCLIEnv(t, map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": bob.Token})
	for _, p := range []string{project, "missing-" + randHex(3)} {
		sr := stranger.riseStdin(t, "", "env", "ls", "-p", p)
		outputs = append(outputs, sr.Out+sr.Err)
		if sr.Code != 6 || sr.Err != "Project '"+p+"' not found.\n" {
			t.Errorf("stranger env ls %s: %d %q", p, sr.Code, sr.Err)
		}
	}

	all := strings.Join(outputs, "\n")
	for _, v := range []string{protected, protected2, once} {
		if strings.Contains(all, v) {
			t.Errorf("a protected value was printed:\n%s", all)
		}
	}
	// The secret appears only in the outputs of an explicit reveal.
	for _, o := range outputs {
		if strings.Contains(o, secret) && !strings.Contains(o, "--reveal") {
			t.Errorf("a secret was printed without --reveal:\n%s", o)
		}
	}
}

// TestEncryptionKeysOnRealServer runs the real `rise server`: it refuses
// to start when stored values cannot be opened (no key, another key),
// `rise server rotate-keys` moves every value to a new key, and the server
// then runs with the new key alone.
func TestEncryptionKeysOnRealServer(t *testing.T) {
	t.Parallel()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	authHCL := fmt.Sprintf(`  local {
    user "alice@rise.dev" { password_hash = %q }
  }`, hash)
	newKey := func() string {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	k1, k2 := newKey(), newKey()
	enc := func(cur string, old ...string) string {
		q := make([]string, len(old))
		for i, o := range old {
			q[i] = strconv.Quote(o)
		}
		return fmt.Sprintf("encryption {\n  provider = \"local\"\n  key = %q\n  old_keys = [%s]\n}\n", cur, strings.Join(q, ", "))
	}
	ctx := context.Background()
	client := func(srv *riseServer) *api.Client {
		t.Helper()
		tok, err := api.NewClient(srv.URL, "").Login(ctx, api.LoginRequest{Email: "alice@rise.dev", Password: "s3cret-pass"})
		if err != nil {
			t.Fatal(err)
		}
		return api.NewClient(srv.URL, tok.Token)
	}
	srv := startRiseServer(t, authHCL, enc(k1))
	c := client(srv)
	if _, err := c.CreateProject(ctx, api.CreateProjectRequest{Name: "vault"}); err != nil {
		t.Fatal(err)
	}
	value := "v-" + randHex(8)
	if _, err := c.SetVariables(ctx, "vault", &api.SetVariablesRequest{Variables: []api.VariableInput{{Name: "API_KEY", Value: value, Kind: api.KindSecret}}}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	base, err := os.ReadFile(srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	withBlock := func(name, block string) string {
		cfg := filepath.Join(t.TempDir(), name)
		head, _, _ := strings.Cut(string(base), "encryption {")
		writeFile(t, cfg, head+block)
		return cfg
	}
	cli := newCLIEnv(t, nil)
	for _, c := range []struct{ name, block, want string }{
		{"no key", "", "no encryption key is configured"},
		{"another key", enc(k2), "which is not configured"},
	} {
		r := cli.rise(t, "server", "--config", withBlock("server.hcl", c.block))
		if r.Code == 0 || !strings.Contains(r.Err, c.want) || strings.Contains(r.Err, k1) || strings.Contains(r.Err, value) {
			t.Errorf("start with %s: exit %d, want an error saying %q:\n%s", c.name, r.Code, c.want, r.Err)
		}
	}
	r := cli.rise(t, "server", "rotate-keys", "--config", withBlock("rotate.hcl", enc(k2, k1)))
	if r.Code != 0 || !strings.Contains(r.Err, "Re-wrapped 1 data keys") {
		t.Fatalf("rotate-keys: exit %d\n%s", r.Code, r.Err)
	}
	srv2 := startRiseServerOn(t, srv.DBURL, authHCL, enc(k2))
	v, err := client(srv2).GetVariable(ctx, "vault", "API_KEY", true)
	if err != nil || v.Value == nil || *v.Value != value {
		t.Fatalf("reveal after rotation with the new key only: %+v %v", v, err)
	}
}
