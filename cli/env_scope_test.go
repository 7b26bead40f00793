package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestEnvEnvironmentFlag: rise env -E sends ?environment= on every call,
// and list -E shows whose value each is in a SCOPE column.
func TestEnvEnvironmentFlag(t *testing.T) {
	var mu sync.Mutex
	var reqs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"variables": []map[string]any{
			{"name": "LOG_LEVEL", "environment": "staging", "kind": "plain", "value": "debug", "updated_at": "2026-12-01T10:00:00Z"},
			{"name": "REGION", "kind": "plain", "value": "eu", "updated_at": "2026-12-01T10:00:00Z"},
		}})
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{"RISE_URL": srv.URL, "RISE_TOKEN": "t"}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := reqs
		reqs = nil
		return out
	}

	r := run(t, env, "env", "list", "-p", "shop", "-E", "staging")
	if r.code != 0 {
		t.Fatalf("env list -E: exit %d %s", r.code, r.err)
	}
	if got := strings.Join(take(), "\n"); got != "GET /api/v1/projects/shop/env?environment=staging" {
		t.Fatalf("env list -E sent %q", got)
	}
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 || strings.Fields(lines[0])[1] != "SCOPE" || strings.Fields(lines[1])[1] != "staging" || strings.Fields(lines[2])[1] != "project" {
		t.Fatalf("env list -E output:\n%s", r.out)
	}
	// Without -E: project-wide, no SCOPE column.
	r = run(t, env, "env", "ls", "-p", "shop")
	if got := strings.Join(take(), "\n"); r.code != 0 || got != "GET /api/v1/projects/shop/env" || strings.Contains(r.out, "SCOPE") {
		t.Fatalf("env ls: exit %d, sent %q:\n%s", r.code, got, r.out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"env", "set", "-p", "shop", "--environment", "staging", "A=b"}, "PATCH /api/v1/projects/shop/env?environment=staging"},
		{[]string{"env", "get", "-p", "shop", "-E", "staging", "A", "--reveal"}, "GET /api/v1/projects/shop/env/A?environment=staging&reveal=true"},
		{[]string{"env", "unset", "-p", "shop", "-E", "staging", "A"}, "DELETE /api/v1/projects/shop/env/A?environment=staging"},
		{[]string{"env", "export", "-p", "shop", "-E", "staging"}, "GET /api/v1/projects/shop/env?environment=staging"},
	} {
		r := run(t, env, c.args...)
		if got := strings.Join(take(), "\n"); r.code != 0 || got != c.want {
			t.Errorf("rise %v: exit %d (%s), sent %q, want %q", c.args, r.code, r.err, got, c.want)
		}
	}
}
