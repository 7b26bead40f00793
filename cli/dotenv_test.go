package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
)

func TestDotenvKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	src := "# comment\nexport PLAIN=one\nQUOTED=\"two words\"\nAPI_KEY=secret:s3cr3t\nSIGNING='protected:p@ss'\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	vars, err := readDotenv(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.VariableInput{{Name: "API_KEY", Value: "s3cr3t", Kind: api.KindSecret}, {Name: "PLAIN", Value: "one", Kind: api.KindPlain},
		{Name: "QUOTED", Value: "two words", Kind: api.KindPlain}, {Name: "SIGNING", Value: "p@ss", Kind: api.KindProtected}}
	if len(vars) != len(want) {
		t.Fatalf("vars = %+v", vars)
	}
	for i := range want {
		if vars[i] != want[i] {
			t.Errorf("vars[%d] = %+v, want %+v", i, vars[i], want[i])
		}
	}

	// Invalid names and malformed files are usage errors that never quote a value.
	for _, bad := range []string{"lower=secret:topsecret-value\n", "PORT=topsecret-value\n", "A B=topsecret-value\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := readDotenv(path, nil)
		if exitcode.CodeOf(err) != exitcode.Usage || strings.Contains(err.Error(), "topsecret-value") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDeployRequestSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.env")
	if err := os.WriteFile(path, []byte("EXTRA=1\nTOKEN=secret:t0k\nA=from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := testAppWithEnv(map[string]string{"A": "app", "DB": "plain-in-app"})
	req, err := deployFlags{envFiles: []string{path}, secretEnv: []string{"DB=s3cret"}}.request(app)
	if err != nil {
		t.Fatal(err)
	}
	if req.Workload.Env["EXTRA"] != "1" || req.Workload.Env["A"] != "from-file" || req.Workload.Env["DB"] != "" || req.Workload.Env["TOKEN"] != "" {
		t.Errorf("workload env = %v", req.Workload.Env)
	}
	if req.SecretEnv["TOKEN"] != "t0k" || req.SecretEnv["DB"] != "s3cret" {
		t.Errorf("secret env = %v", req.SecretEnv)
	}
	if _, err := (deployFlags{secretEnv: []string{"RISE_X=1"}}).request(nil); exitcode.CodeOf(err) != exitcode.Usage {
		t.Errorf("reserved --secret-env: %v", err)
	}
}

func testAppWithEnv(env map[string]string) *config.App {
	return &config.App{Deploy: &config.AppDeploy{Env: env}}
}
