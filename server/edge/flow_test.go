package edge_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/edge"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var _ edge.Sessions = (*auth.Service)(nil)

const password = "s3cret-pass"

// platform is a real rise server (real auth on a real PostgreSQL database,
// the edge, the ingress auth endpoint) wired as server/wire does, with one
// app upstream that records what it sees.
type platform struct {
	t         *testing.T
	port      string
	publicURL string
	auth      *auth.Service
	st        *store.Store
	routes    *edge.Table
	handler   http.Handler // rise's whole handler (the HTTPS benchmark serves it over TLS)

	mu   sync.Mutex
	now  time.Time // zero: real time
	seen *http.Request
}

func (p *platform) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.now.IsZero() {
		return time.Now()
	}
	return p.now
}

func (p *platform) setClock(t time.Time) {
	p.mu.Lock()
	p.now = t
	p.mu.Unlock()
}

func (p *platform) lastSeen() *http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen
}

// newPlatform serves rise at http://<publicHost>:<port> and apps at
// http://<project>.<appsHost>:<port>. Users alice and bob log in with the
// local form; alice owns the private projects hello and other and the
// public project open.
func newPlatform(t *testing.T, publicHost, appsHost string, opts ...func(*edge.Options)) *platform {
	t.Helper()
	return newPlatformOn(t, pgtest.URL(t), publicHost, appsHost, opts...)
}

// newPlatformOn is newPlatform on database dbURL; opts adjust the edge.
func newPlatformOn(t *testing.T, dbURL, publicHost, appsHost string, opts ...func(*edge.Options)) *platform {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(st.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p := &platform{t: t, port: port, publicURL: "http://" + publicHost + ":" + port, st: st}
	log := hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Warn, Output: testWriter{t}})

	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := []*config.LocalUser{}
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		users = append(users, &config.LocalUser{Email: email, PasswordHash: string(hash)})
	}
	p.auth, err = auth.New(ctx, &config.Auth{Local: &config.LocalAuth{Users: users}}, st, auth.Options{
		PublicURL: p.publicURL, DataDir: t.TempDir(), Listen: ln.Addr().String(),
		AppsDomain: appsHost, Log: log, Now: p.clock,
		CustomDomains: func(h string) bool { return p.routes != nil && p.routes.IsDomain(h) },
	})
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}

	alice, err := st.UpsertUser(ctx, "alice@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	aliceID := &identity.Identity{UserID: alice.ID, Email: alice.Email, Name: alice.Name}
	for name, vis := range map[string]string{"hello": "private", "other": "private", "open": "public"} {
		if _, err := st.CreateProject(ctx, aliceID, store.NewProject{Name: name, AccessClass: vis}); err != nil {
			t.Fatal(err)
		}
	}

	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = r.Clone(context.Background())
		p.mu.Unlock()
		_, _ = io.WriteString(w, "app "+r.Host+" "+r.URL.RequestURI())
	}))
	t.Cleanup(app.Close)

	// Every project runs one deployment: the recording app.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO deployments (project_id, deployment_id, state, active, upstreams)
		SELECT id, '20260101-000000', 'Healthy', true, ARRAY[$1] FROM projects`, app.URL); err != nil {
		t.Fatal(err)
	}
	p.routes, err = edge.NewTable(ctx, edge.TableOptions{Pool: st.Pool(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = p.routes.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	eo := edge.Options{
		Domain:         appsHost + ":" + port,
		PublicURL:      p.publicURL,
		Lookup:         p.routes.Lookup,
		Domains:        p.routes.DomainProject,
		Identity:       p.auth.IdentityFromRequest,
		IdentityCookie: auth.SessionCookie,
		CanAccess:      p.routes.CanAccess,
		Sessions:       p.auth,
		Log:            log,
	}
	for _, o := range opts {
		o(&eo)
	}
	e, err := edge.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(&config.Server{PublicURL: p.publicURL, Domain: appsHost + ":" + port, AppScheme: "http"}, server.Deps{
		Store:      st,
		Auth:       p.auth,
		Mounts:     []server.Mount{e},
		RootMounts: []server.Mount{server.MountFunc(p.auth.RootRoutes)},
		Edge:       e,
		Log:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.handler = srv.Handler()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// browser is an HTTP client with a cookie jar that resolves every host to
// 127.0.0.1 (so <project>.localhost and rise's host reach the test server)
// and does not follow redirects, so each hop can be checked.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, c: &http.Client{
		Jar: jar, Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request (a top-level navigation unless hdr says otherwise)
// and returns the response with its body read.
func (b *browser) do(method, u string, form url.Values, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, strings.TrimSpace(string(data))
}

func (b *browser) get(u string, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	return b.do(http.MethodGet, u, nil, hdr...)
}

// login posts the local login form for email with return address rd and
// returns the redirect that follows.
func (b *browser) login(p *platform, email, rd string) string {
	b.t.Helper()
	// The form carries a CSRF token bound to a cookie set with the form.
	_, page := b.get(p.publicURL + "/auth/login?rd=" + url.QueryEscape(rd))
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("login form for %s: no CSRF token in %q", email, page)
	}
	resp, _ := b.do(http.MethodPost, p.publicURL+"/auth/login", url.Values{"email": {email}, "password": {password}, "rd": {rd}, "csrf": {m[1]}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("login as %s: %d", email, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// ticketFor asks rise (with the browser's rise session) for a way back to
// rd and returns the callback URL carrying the ticket.
func (b *browser) ticketFor(p *platform, rd string) string {
	b.t.Helper()
	resp, _ := b.get(p.publicURL + "/auth/login?rd=" + url.QueryEscape(rd))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/.rise/callback?") {
		b.t.Fatalf("login with a session for %s: %d %q", rd, resp.StatusCode, loc)
	}
	return loc
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (p *platform) app(project, path string) string {
	return "http://" + project + ".localhost:" + p.port + path
}
