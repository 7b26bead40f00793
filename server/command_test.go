package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/store"
)

func runCommand(t *testing.T, ctx context.Context, opts server.CommandOptions, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.Stderr = &errOut
	cmd := server.NewCommand(opts)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage = true
	err := cmd.ExecuteContext(ctx)
	return out.String() + errOut.String(), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServerCommand(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	addr := freeAddr(t)
	cfg := &config.Server{Listen: addr, Database: &config.Database{URL: url}}
	load := func(path string) (*config.Server, error) {
		if path != "test.hcl" {
			return nil, fmt.Errorf("unexpected config path %q", path)
		}
		c := *cfg
		return &c, nil
	}
	opts := server.CommandOptions{Version: "1.2.3", LoadConfig: load}

	out, err := runCommand(t, ctx, opts, "migrate", "--config", "test.hcl")
	if err != nil || !strings.Contains(out, "Database schema is at version") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	latest, _ := store.LatestVersion()
	out, err = runCommand(t, ctx, opts, "migrate", "--status", "-c", "test.hcl")
	if err != nil || !strings.Contains(out, fmt.Sprintf("version %d (dirty: false)", latest)) {
		t.Fatalf("migrate --status: %v\n%s", err, out)
	}
	checked := false
	opts.Check = func(context.Context, *config.Server, hclog.Logger) error { checked = true; return nil }
	if out, err = runCommand(t, ctx, opts, "check", "-c", "test.hcl"); err != nil || !checked || !strings.Contains(out, "is valid") {
		t.Fatalf("check: %v %v\n%s", err, checked, out)
	}
	opts.Check = func(context.Context, *config.Server, hclog.Logger) error {
		return errors.New("plugin \"ecs\": bad config")
	}
	if _, err = runCommand(t, ctx, opts, "check", "-c", "test.hcl"); err == nil || !strings.Contains(err.Error(), "ecs") {
		t.Fatalf("check with a plugin error: %v", err)
	}
	noDB := server.CommandOptions{LoadConfig: func(string) (*config.Server, error) { return &config.Server{Filename: "x.hcl"}, nil }}
	if _, err = runCommand(t, ctx, noDB, "check"); err == nil || !strings.Contains(err.Error(), "no database configured") {
		t.Fatalf("check without database: %v", err)
	}

	// The server itself: runs, answers, stops when its context ends.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := runCommand(t, runCtx, opts, "-c", "test.hcl"); done <- err }()
	var resp *http.Response
	for i := 0; i < 200; i++ {
		if resp, err = http.Get("http://" + addr + "/api/v1/version"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server did not come up: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("version: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestServerCommandDefaultConfigLoader(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := dir + "/server.hcl"
	url := pgtest.URL(t)
	t.Setenv("RISE_TEST_DATABASE_URL", url)
	src := `listen = "127.0.0.1:0"
database { url = env("RISE_TEST_DATABASE_URL") }
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCommand(t, ctx, server.CommandOptions{}, "migrate", "-c", path); err != nil {
		t.Fatalf("migrate with %s: %v\n%s", path, err, out)
	}
	bad := dir + "/bad.hcl"
	if err := os.WriteFile(bad, []byte("listen = \"127.0.0.1:0\"\ndatabse { url = \"x\" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runCommand(t, ctx, server.CommandOptions{}, "check", "-c", bad)
	if err == nil || !strings.Contains(err.Error(), "bad.hcl line 2") || !strings.Contains(err.Error(), `Did you mean "database"`) {
		t.Fatalf("typo in config: %v", err)
	}
}
