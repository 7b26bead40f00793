// Package servertest runs a real rise API server for tests: a fresh
// PostgreSQL database (dev/pgtest), the real router and handlers, on a
// loopback httptest server, with a token authenticator standing in for
// server/auth. Only tests may import it.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	env := servertest.New(t)
//	alice := env.User(t, "alice@example.com", false)
//	_, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "app"})
package servertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// TokenAuth is a test server.Authenticator: "Authorization: Bearer <token>"
// maps to the identity registered with Add; an unknown token is a 401,
// no header is anonymous.
type TokenAuth struct {
	mu  sync.RWMutex
	ids map[string]*identity.Identity
}

var _ server.Authenticator = (*TokenAuth)(nil)

// Add registers token for id.
func (a *TokenAuth) Add(token string, id *identity.Identity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = map[string]*identity.Identity{}
	}
	a.ids[token] = id
}

// Middleware implements server.Authenticator.
func (a *TokenAuth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		a.mu.RLock()
		id, ok := a.ids[trimBearer(h)]
		a.mu.RUnlock()
		if !ok {
			httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized, "invalid credentials"))
			return
		}
		next.ServeHTTP(w, r.WithContext(identity.With(r.Context(), id)))
	})
}

// Routes implements server.Authenticator; the test authenticator has none.
func (a *TokenAuth) Routes(*mux.Router) {}

func trimBearer(h string) string {
	const p = "Bearer "
	if len(h) > len(p) && h[:len(p)] == p {
		return h[len(p):]
	}
	return ""
}

// Env is a running test server.
type Env struct {
	URL    string // base URL without /api/v1
	Store  *store.Store
	Auth   *TokenAuth
	Server *server.Server
	Config *config.Server
}

// Caller is a registered identity with a client using its token.
type Caller struct {
	*identity.Identity
	Token  string
	Client *api.Client
}

// Option adjusts the config or deps before the server is built.
type Option func(*config.Server, *server.Deps)

// New starts a server on a fresh database; it stops when the test ends.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.URL(t), hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("servertest: open store: %v", err)
	}
	t.Cleanup(st.Close)
	cfg := &config.Server{Domain: "rise.test", AppScheme: "https"}
	auth := &TokenAuth{}
	deps := server.Deps{Store: st, Auth: auth, Log: hclog.NewNullLogger(), Version: "test"}
	for _, o := range opts {
		o(cfg, &deps)
	}
	srv, err := server.New(cfg, deps)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &Env{URL: hs.URL, Store: st, Auth: auth, Server: srv, Config: cfg}
}

// User creates (or finds) the user with this email and returns a caller
// authenticated as them.
func (e *Env) User(t testing.TB, email string, admin bool) *Caller {
	t.Helper()
	u, err := e.Store.UpsertUser(context.Background(), email, "", admin)
	if err != nil {
		t.Fatalf("servertest: user %s: %v", email, err)
	}
	return e.As(&identity.Identity{UserID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin})
}

// ServiceAccount returns a caller acting as a service account of project.
func (e *Env) ServiceAccount(t testing.TB, project string) *Caller {
	t.Helper()
	p, err := e.Store.ProjectByName(context.Background(), project)
	if err != nil {
		t.Fatalf("servertest: service account for %s: %v", project, err)
	}
	return e.As(&identity.Identity{ServiceAccount: &identity.ServiceAccount{
		ID: "sa-" + project, ProjectID: p.ID, Project: p.Name, Issuer: "https://ci.test", Subject: "ci"}})
}

// As returns a caller for an arbitrary identity.
func (e *Env) As(id *identity.Identity) *Caller {
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	e.Auth.Add(tok, id)
	return &Caller{Identity: id, Token: tok, Client: api.NewClient(e.URL, tok)}
}

// Anonymous is a client without credentials.
func (e *Env) Anonymous() *api.Client { return api.NewClient(e.URL, "") }
