package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is a rise auth service on a real database behind a real HTTP server.
type env struct {
	t    *testing.T
	s    *Service
	srv  *httptest.Server
	pool *pgxpool.Pool
	st   *store.Store
	logs *syncBuf
	now  time.Time
	mu   sync.Mutex
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock returns the env's adjustable clock.
func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.now.IsZero() {
		return time.Now()
	}
	return e.now
}

func (e *env) setNow(t time.Time) {
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

type envOpt func(*Options)

// newEnv starts the service with cfg. The HTTP server listens before the
// service is built so its URL can be the public URL.
func newEnv(t *testing.T, cfg *config.Auth, opts ...envOpt) *env {
	t.Helper()
	return newEnvWith(t, func(string) *config.Auth { return cfg }, opts...)
}

// newEnvWith is newEnv with a config that may depend on the public URL.
func newEnvWith(t *testing.T, mkCfg func(publicURL string) *config.Auth, opts ...envOpt) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.URL(t), hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(st.Close)
	e := &env{t: t, pool: st.Pool(), st: st, logs: &syncBuf{}}
	e.srv = httptest.NewUnstartedServer(nil)
	o := Options{
		PublicURL: "http://" + e.srv.Listener.Addr().String(),
		DataDir:   t.TempDir(),
		Listen:    e.srv.Listener.Addr().String(),
		Log:       hclog.New(&hclog.LoggerOptions{Output: e.logs, Level: hclog.Debug}),
		Now:       e.clock,
	}
	for _, f := range opts {
		f(&o)
	}
	s, err := New(ctx, mkCfg(o.PublicURL), st, o)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.s = s
	root := mux.NewRouter()
	s.WellKnown(root)
	s.SessionRoutes(root)
	v1 := root.PathPrefix("/api/v1").Subrouter()
	s.Routes(v1)
	// whoami stands in for GET /users/me (server-core's) and shows the identity.
	v1.Handle("/whoami", s.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, identity.From(r.Context()))
	})))
	e.srv.Config.Handler = s.Middleware(root)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// call sends a JSON request with an optional bearer token and returns status and body.
func (e *env) call(method, path, token string, in any) (int, []byte) {
	e.t.Helper()
	return e.callWith(method, path, token, "", in)
}

// callFrom is an anonymous call through a proxy at 127.0.0.1 that says the
// client is ip (X-Forwarded-For; believed only with trusted_proxies).
func (e *env) callFrom(ip, method, path string, in any) (int, []byte) {
	e.t.Helper()
	return e.callWith(method, path, "", ip, in)
}

func (e *env) callWith(method, path, token, xff string, in any) (int, []byte) {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// whoami returns the identity the server sees for token.
func (e *env) whoami(token string) (int, identity.Identity) {
	e.t.Helper()
	code, b := e.call(http.MethodGet, "/api/v1/whoami", token, nil)
	var id identity.Identity
	if code == http.StatusOK {
		if err := json.Unmarshal(b, &id); err != nil {
			e.t.Fatalf("whoami: %v: %s", err, b)
		}
	}
	return code, id
}

// expectRefused asserts a generic 401 with no detail and a log line.
func (e *env) expectRefused(name, token string) {
	e.t.Helper()
	before := strings.Count(e.logs.String(), "refused credentials")
	code, b := e.call(http.MethodGet, "/api/v1/whoami", token, nil)
	if code != http.StatusUnauthorized {
		e.t.Errorf("%s: status %d, want 401 (%s)", name, code, b)
		return
	}
	var ae api.Error
	if err := json.Unmarshal(b, &ae); err != nil || ae.Message != errInvalidToken.Error() {
		e.t.Errorf("%s: body %s, want the generic %q", name, b, errInvalidToken)
	}
	if after := strings.Count(e.logs.String(), "refused credentials"); after != before+1 {
		e.t.Errorf("%s: no 'refused credentials' log line", name)
	}
}

// mkProject creates a project owned by a new user and returns the user's token.
func (e *env) mkProject(name, ownerEmail string) string {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.s.users.upsertUser(ctx, ownerEmail, "", false)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO projects (name, owner_user_id) VALUES ($1, $2)`, name, u.ID); err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := e.s.issue(u)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func writeRSAKey(t *testing.T) (string, *rsa.PrivateKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rsa.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, k
}
