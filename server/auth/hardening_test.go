package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// teamEnv is a project "shop" owned by team "ops" with an owner and a
// plain member, each with a rise token.
type teamEnv struct {
	*env
	ci                   *fakeIssuer
	issuer               string
	owner, member, admin string // tokens
	ownerID, coOwner     *identity.Identity
}

func newTeamEnv(t *testing.T, opts ...envOpt) *teamEnv {
	t.Helper()
	ci := newFakeIssuer(t, "")
	e := newEnv(t, &config.Auth{TrustedIssuers: []*config.TrustedIssuer{
		{Name: "gitlab", Issuer: ci.srv.URL, Audience: "rise", AllowPrivateNetwork: true},
	}}, opts...)
	ctx := context.Background()
	te := &teamEnv{env: e, ci: ci, issuer: ci.srv.URL}
	user := func(email string, admin bool) (*identity.Identity, string) {
		u, err := e.s.users.upsertUser(ctx, email, "", admin)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := e.s.issue(u)
		if err != nil {
			t.Fatal(err)
		}
		return u.identity(), tok
	}
	te.ownerID, te.owner = user("olga@example.com", false)
	_, te.member = user("max@example.com", false)
	te.coOwner, _ = user("carl@example.com", false)
	_, te.admin = user("root@example.com", true)
	if _, err := e.st.CreateTeam(ctx, te.ownerID, "ops", []string{"carl"}, []string{"max"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateProject(ctx, te.ownerID, store.NewProject{Name: "shop", AccessClass: "private", Owner: "team:ops"}); err != nil {
		t.Fatal(err)
	}
	return te
}

func (te *teamEnv) createSA(token string, claims map[string]string) (int, api.ServiceAccount, string) {
	te.t.Helper()
	code, b := te.call(http.MethodPost, "/api/v1/projects/shop/service-accounts", token, api.CreateServiceAccountRequest{Issuer: "gitlab", Claims: claims})
	var sa api.ServiceAccount
	_ = json.Unmarshal(b, &sa)
	return code, sa, string(b)
}

// TestServiceAccountsAreOwnerBusiness: a team member (not an owner) cannot
// create or delete service accounts; claim rules that match every token of
// the issuer are refused; and a service account stops working the moment
// its creator loses owner rights (no back door for a removed member).
func TestServiceAccountsAreOwnerBusiness(t *testing.T) {
	te := newTeamEnv(t)
	ctx := context.Background()
	pinned := map[string]string{"project_path": "acme/shop"}

	if code, _, b := te.createSA(te.member, pinned); code != http.StatusForbidden {
		t.Fatalf("member creating a service account: %d %s, want 403", code, b)
	}
	// Match-everything rules, even from an owner.
	for _, claims := range []map[string]string{
		{"project_path": "*/*"}, {"project_path": "*/*/*"}, {"project_path": "?*"}, {"ref": "[a-z]*"}, {"project_path": "**"},
		{"iss": te.issuer}, {"aud": "rise"}, {"iss": te.issuer, "aud": "rise"}, {"iss": te.issuer, "project_path": "*/*"},
		{"exp": "1700000000"},
	} {
		if code, _, b := te.createSA(te.owner, claims); code != http.StatusBadRequest {
			t.Errorf("claims %v: %d %s, want 400", claims, code, b)
		}
	}
	code, sa, b := te.createSA(te.owner, map[string]string{"project_path": "acme/shop", "ref": "refs/heads/*"})
	if code != http.StatusCreated {
		t.Fatalf("owner creating a service account: %d %s", code, b)
	}
	// Members may list, not delete.
	if code, _ := te.call(http.MethodGet, "/api/v1/projects/shop/service-accounts", te.member, nil); code != http.StatusOK {
		t.Errorf("member listing: %d", code)
	}
	if code, _ := te.call(http.MethodDelete, "/api/v1/projects/shop/service-accounts/"+sa.ID, te.member, nil); code != http.StatusForbidden {
		t.Errorf("member deleting: %d, want 403", code)
	}
	ci := te.ci.token(nil)
	if code, id := te.whoami(ci); code != http.StatusOK || !id.IsServiceAccount() {
		t.Fatalf("CI token: %d %+v", code, id)
	}

	// The creator is demoted to a plain member: the service account is
	// refused on the next request. Promoted again: it works again.
	if _, err := te.st.UpdateTeam(ctx, te.coOwner, "ops", store.TeamChange{RemoveOwners: []string{"olga"}}); err != nil {
		t.Fatal(err)
	}
	te.expectRefused("service account of a demoted creator", ci)
	if _, err := te.st.UpdateTeam(ctx, te.coOwner, "ops", store.TeamChange{AddOwners: []string{"olga"}}); err != nil {
		t.Fatal(err)
	}
	if code, _ := te.whoami(ci); code != http.StatusOK {
		t.Fatalf("CI token after re-promotion: %d", code)
	}
	// Removed from the team altogether: refused at once.
	if _, err := te.st.UpdateTeam(ctx, te.coOwner, "ops", store.TeamChange{RemoveOwners: []string{"olga"}, RemoveMembers: []string{"olga"}}); err != nil {
		t.Fatal(err)
	}
	te.expectRefused("service account of a removed creator", ci)
	// A deleted creator leaves created_by NULL: refused too.
	if _, err := te.pool.Exec(ctx, `UPDATE service_accounts SET created_by = NULL`); err != nil {
		t.Fatal(err)
	}
	te.expectRefused("service account without a creator", ci)
}

// TestRemovedMemberAtOnce: membership and the admin flag are read from the
// database on every request; a removed member's (still valid) token loses
// the project on the next request, a demoted admin's token its admin rights.
func TestRemovedMemberAtOnce(t *testing.T) {
	te := newTeamEnv(t)
	ctx := context.Background()
	if code, _ := te.call(http.MethodGet, "/api/v1/projects/shop/service-accounts", te.member, nil); code != http.StatusOK {
		t.Fatalf("member before removal: %d", code)
	}
	if _, err := te.st.UpdateTeam(ctx, te.ownerID, "ops", store.TeamChange{RemoveMembers: []string{"max"}}); err != nil {
		t.Fatal(err)
	}
	if code, _ := te.call(http.MethodGet, "/api/v1/projects/shop/service-accounts", te.member, nil); code != http.StatusNotFound {
		t.Errorf("removed member with the same token: %d, want 404", code)
	}

	if code, id := te.whoami(te.admin); code != http.StatusOK || !id.Admin {
		t.Fatalf("admin: %d %+v", code, id)
	}
	if _, err := te.pool.Exec(ctx, `UPDATE users SET admin = false WHERE email = 'root@example.com'`); err != nil {
		t.Fatal(err)
	}
	if code, id := te.whoami(te.admin); code != http.StatusOK || id.Admin {
		t.Errorf("demoted admin with the same token: %d admin=%v", code, id.Admin)
	}
	if code, _ := te.call(http.MethodGet, "/api/v1/projects/shop/service-accounts", te.admin, nil); code != http.StatusNotFound {
		t.Errorf("demoted admin on a team project: %d, want 404", code)
	}
}

// replica starts a second server instance on e's database and signing key
// (as a second replica behind a load balancer) and returns its base URL.
func (e *env) replica(cfg *config.Auth, dataDir string) string {
	e.t.Helper()
	s2, err := New(context.Background(), cfg, e.st, Options{PublicURL: e.s.issuer, DataDir: dataDir, Log: hclog.NewNullLogger()})
	if err != nil {
		e.t.Fatal(err)
	}
	if s2.key.kid != e.s.key.kid {
		e.t.Fatal("replica has another signing key")
	}
	root := mux.NewRouter()
	v1 := root.PathPrefix("/api/v1").Subrouter()
	s2.Routes(v1)
	v1.Handle("/whoami", s2.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, identity.From(r.Context()))
	})))
	srv := httptest.NewServer(s2.Middleware(root))
	e.t.Cleanup(srv.Close)
	return srv.URL
}

func status(t *testing.T, method, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRevocation: `rise logout` revokes the token it is sent with, on this
// server and on every other replica at the next request; logout --all and
// an admin's DELETE /users/{user}/tokens revoke every token of a user;
// nobody else can revoke a user's tokens.
func TestRevocation(t *testing.T) {
	dataDir := t.TempDir()
	cfg := localConfig(t)
	e := newEnv(t, cfg, func(o *Options) { o.DataDir = dataDir })
	e.s.auditor = audit.New(e.st, audit.Options{})
	other := e.replica(cfg, dataDir)

	login := func() string {
		t.Helper()
		code, b := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "admin@example.com", Password: "s3cret-pass"})
		var tr api.TokenResponse
		if code != http.StatusOK || json.Unmarshal(b, &tr) != nil {
			t.Fatalf("login: %d %s", code, b)
		}
		return tr.Token
	}
	t1, t2 := login(), login()
	if status(t, http.MethodGet, other+"/api/v1/whoami", t1) != http.StatusOK {
		t.Fatal("replica refuses a valid token")
	}
	if code, b := e.call(http.MethodPost, "/api/v1/auth/logout", t1, nil); code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", code, b)
	}
	e.expectRefused("logged-out token", t1)
	if code := status(t, http.MethodGet, other+"/api/v1/whoami", t1); code != http.StatusUnauthorized {
		t.Errorf("logged-out token on the other replica: %d, want 401", code)
	}
	if code, _ := e.whoami(t2); code != http.StatusOK {
		t.Errorf("the user's other token after logout of one: %d", code)
	}
	if code, _ := e.call(http.MethodPost, "/api/v1/auth/logout", "", nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous logout: %d", code)
	}

	// Someone else cannot revoke the admin's tokens (same 404 as unknown).
	bobTok := e.mkProject("bobs", "bob@example.com")
	for _, ref := range []string{"admin", "admin@example.com", "nobody"} {
		if code, _ := e.call(http.MethodDelete, "/api/v1/users/"+ref+"/tokens", bobTok, nil); code != http.StatusNotFound {
			t.Errorf("bob revoking %s: %d, want 404", ref, code)
		}
	}
	if code, _ := e.whoami(t2); code != http.StatusOK {
		t.Fatalf("admin token after bob's attempts: %d", code)
	}
	// The admin revokes every token of bob: refused on both replicas.
	if code, b := e.call(http.MethodDelete, "/api/v1/users/bob/tokens", t2, nil); code != http.StatusNoContent {
		t.Fatalf("admin revoking bob: %d %s", code, b)
	}
	e.expectRefused("token of a revoked user", bobTok)
	if code := status(t, http.MethodGet, other+"/api/v1/whoami", bobTok); code != http.StatusUnauthorized {
		t.Errorf("revoked user's token on the other replica: %d", code)
	}
	// A token issued after the cutoff works (a new login).
	e.setNow(time.Now().Add(2 * time.Second))
	u, _ := e.s.users.userByRef(context.Background(), "bob")
	fresh, _, _ := e.s.issue(u)
	if code, _ := e.whoami(fresh); code != http.StatusOK {
		t.Errorf("token issued after the revocation: %d", code)
	}
	// logout --all.
	if code, _ := e.call(http.MethodPost, "/api/v1/auth/logout", fresh, api.LogoutRequest{All: true}); code != http.StatusNoContent {
		t.Fatalf("logout --all: %d", code)
	}
	e.expectRefused("after logout --all", fresh)
	e.setNow(time.Time{})

	var revoked int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = $1`, audit.ActionTokenRevoked).Scan(&revoked); err != nil {
		t.Fatal(err)
	}
	if revoked != 3 {
		t.Errorf("%s events in the audit log: %d, want 3", audit.ActionTokenRevoked, revoked)
	}
}

// TestSafeReturn: browser logins only return to rise itself or to app
// hosts with the right scheme and no foreign port.
func TestSafeReturn(t *testing.T) {
	s := &Service{issuer: "https://rise.example.com", appsDomain: "apps.example.com", appScheme: "https"}
	dev := &Service{issuer: "http://127.0.0.1:3000", appsDomain: "localhost", appsPort: "3000", appScheme: "http"}
	for _, tc := range []struct {
		s    *Service
		rd   string
		want bool
	}{
		{s, "https://shop.apps.example.com/x?y=1", true},
		{s, "https://rise.example.com/dash", true},
		{s, "https://shop.apps.example.com:443/", false},
		{s, "https://evil.example", false},
		{s, "https://evil.example/?https://shop.apps.example.com", false},
		{s, "https://shop.apps.example.com.evil.example/", false},
		{s, "http://shop.apps.example.com/", false},
		{s, "https://shop.apps.example.com:8443/", false},
		{s, "https://shop.apps.example.com:/", false},
		{s, "https://rise.example.com:8443/", false},
		{s, "javascript://shop.apps.example.com/%0aalert(1)", false},
		{s, "https://a@shop.apps.example.com/", false},
		{s, "https:shop.apps.example.com", false},
		{s, "https://shop.apps.example.com\\@evil.example/", false},
		{dev, "http://hello.localhost:3000/", true},
		{dev, "http://127.0.0.1:3000/", true},
		{dev, "http://hello.localhost:3001/", false},
		{dev, "http://hello.localhost:22/", false},
		{dev, "http://127.0.0.1:3001/", false},
	} {
		if _, ok := tc.s.safeReturn(tc.rd); ok != tc.want {
			t.Errorf("%s safeReturn(%q) = %v, want %v", tc.s.issuer, tc.rd, ok, tc.want)
		}
	}
}

// TestClientIP: X-Forwarded-For counts only when the peer is a trusted proxy,
// and then only the entries the trusted proxies appended.
func TestClientIP(t *testing.T) {
	s := &Service{}
	var err error
	if s.proxies, err = parseProxies([]string{"10.0.0.0/8", "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ peer, xff, want string }{
		{"203.0.113.9:5000", "1.2.3.4", "203.0.113.9"},               // untrusted peer: XFF ignored
		{"10.1.2.3:5000", "", "10.1.2.3"},                            // trusted proxy, no header
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},            // one proxy
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},   // client-supplied left part ignored
		{"10.1.2.3:5000", "198.51.100.1, 192.0.2.7", "198.51.100.1"}, // two trusted hops
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:5000", "198.51.100.1", "198.51.100.1"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := s.clientIP(r); got != tc.want {
			t.Errorf("peer %s XFF %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	if _, err := parseProxies([]string{"proxy.example.com"}); err == nil {
		t.Error("a host name accepted as trusted proxy")
	}
}

// TestLoginRateLimits: local login is limited per account across client
// addresses (behind a trusted proxy, each request from another client) and
// per client address across accounts.
func TestLoginRateLimits(t *testing.T) {
	e := newEnv(t, localConfig(t), func(o *Options) { o.TrustedProxies = []string{"127.0.0.1"} })
	try := func(ip, email string) int {
		code, _ := e.callFrom(ip, http.MethodPost, "/api/v1/auth/login", api.LoginRequest{Email: email, Password: "wrong"})
		return code
	}
	for i := 0; i < localLoginAccountMax; i++ {
		if code := try("198.51.100."+strconv.Itoa(i+1), "admin@example.com"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := try("198.51.100.200", "admin@example.com"); code != http.StatusTooManyRequests {
		t.Errorf("account attempt from a new address past the per-account limit: %d, want 429", code)
	}
	// Per address across accounts.
	for i := 0; i < localLoginIPMax; i++ {
		if code := try("203.0.113.5", "user"+strconv.Itoa(i)+"@example.com"); code != http.StatusUnauthorized {
			t.Fatalf("address attempt %d: %d", i, code)
		}
	}
	if code := try("203.0.113.5", "fresh@example.com"); code != http.StatusTooManyRequests {
		t.Errorf("address past the per-address limit: %d, want 429", code)
	}
	if code := try("203.0.113.6", "fresh@example.com"); code != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", code)
	}
}

// TestPendingLoginBound: anonymous authorize calls create rows; one client
// address gets 429 after pendingPerIP open ones, others still get in.
func TestPendingLoginBound(t *testing.T) {
	idp := newFakeIssuer(t, "")
	e := newEnv(t, &config.Auth{OIDC: []*config.OIDCProvider{{Name: "corp", Issuer: idp.srv.URL, ClientID: "rise-client"}}},
		func(o *Options) { o.TrustedProxies = []string{"127.0.0.1"} })
	_, challenge := pkce()
	req := api.AuthorizeRequest{RedirectURI: "http://localhost:8765/callback", CodeChallenge: challenge, CodeChallengeMethod: "S256"}
	for i := 0; i < pendingPerIP; i++ {
		if code, b := e.callFrom("198.51.100.1", http.MethodPost, "/api/v1/auth/authorize", req); code != http.StatusOK {
			t.Fatalf("authorize %d: %d %s", i, code, b)
		}
	}
	code, b := e.callFrom("198.51.100.1", http.MethodPost, "/api/v1/auth/authorize", req)
	var ae api.Error
	if code != http.StatusTooManyRequests || json.Unmarshal(b, &ae) != nil || ae.Message == "" {
		t.Errorf("authorize past the bound: %d %s, want 429 with a message", code, b)
	}
	if code, _ := e.callFrom("198.51.100.2", http.MethodPost, "/api/v1/auth/authorize", req); code != http.StatusOK {
		t.Errorf("another address: %d", code)
	}
	// Expired rows do not count.
	e.setNow(time.Now().Add(loginTTL + time.Minute))
	if code, _ := e.callFrom("198.51.100.1", http.MethodPost, "/api/v1/auth/authorize", req); code != http.StatusOK {
		t.Errorf("after the open logins expired: %d", code)
	}
}
