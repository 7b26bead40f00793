package edgetls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/devnet"
	"github.com/riseplatform/rise/dev/pebbletest"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/certstore"
	"github.com/riseplatform/rise/server/domains"
	"github.com/riseplatform/rise/server/edge"
	"github.com/riseplatform/rise/server/edgetls"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/servertest"
	"github.com/riseplatform/rise/server/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const appsDomain = "apps.test"

// replica is one rise server: the edge on HTTPS (and its HTTP redirect
// listener), the domains API, the route table, the TLS manager.
type replica struct {
	https, http int
	tls         *edgetls.Manager
	api         string // plain-HTTP base URL of the same handler (API calls)
	auth        *servertest.TokenAuth
	table       *edge.Table
}

func startReplica(t *testing.T, st *store.Store, p *pebbletest.Pebble, httpsPort, httpPort int) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := hclog.New(&hclog.LoggerOptions{Name: fmt.Sprintf("rise-%d", httpsPort), Level: hclog.Warn})
	r := &replica{https: httpsPort, http: httpPort, auth: &servertest.TokenAuth{}}
	listen := "127.0.0.1:" + strconv.Itoa(httpsPort)
	tcfg := &config.TLS{HSTS: "24h", ACME: &config.ACME{Email: "ops@example.com", CA: p.Directory, CARoot: p.CAFile, Resolver: p.DNS}}
	if httpPort != 0 {
		tcfg.RedirectListen = "127.0.0.1:" + strconv.Itoa(httpPort)
	}
	cfg := &config.Server{Listen: listen, PublicURL: "https://rise.test:" + strconv.Itoa(httpsPort), Domain: appsDomain, AppScheme: "https", TLS: tcfg}
	var err error
	r.table, err = edge.NewTable(ctx, edge.TableOptions{Pool: st.Pool(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	router, err := edge.New(edge.Options{Domain: appsDomain, PublicURL: cfg.PublicURL, Lookup: r.table.Lookup,
		Domains: r.table.DomainProject, CanAccess: r.table.CanAccess, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := domains.New(domains.Options{Store: st, Rules: domains.Rules{AppsDomain: appsDomain, OwnHost: "rise.test"},
		Checker: domains.NewChecker(p.DNS, "", []string{"127.0.0.1"}), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	r.tls, err = edgetls.New(ctx, edgetls.Options{TLS: tcfg, Storage: certstore.New(st.Pool(), certstore.Options{}),
		Allow: router.CertificateAllowed, Listen: listen, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, server.Deps{Store: st, Auth: r.auth, Edge: router, TLS: r.tls, Mounts: []server.Mount{svc},
		Controllers: []server.Controller{r.table, r.tls}, Log: log, ShutdownGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	hs := httptest.NewServer(srv.Handler())
	r.api = hs.URL
	t.Cleanup(func() { hs.Close(); cancel(); <-done })
	if httpPort != 0 {
		waitListening(t, "127.0.0.1:"+strconv.Itoa(httpPort))
	}
	return r
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
	}
}

func (r *replica) client(token string) *api.Client {
	tok := "tok-" + token
	return api.NewClient(r.api, tok)
}

// httpsClient reaches every name on this machine (names resolve to
// 127.0.0.1), trusting only roots; it opens a new connection per request
// so every request sees the certificate served now.
func httpsClient(roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, _ := net.SplitHostPort(addr)
				return d.DialContext(ctx, network, "127.0.0.1:"+port)
			},
		},
	}
}

// get fetches url and returns the status, body and the leaf certificate's
// serial (HTTPS).
func get(t *testing.T, c *http.Client, url string) (int, string, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	serial := ""
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		serial = resp.TLS.PeerCertificates[0].SerialNumber.String()
	}
	return resp.StatusCode, string(b), serial, resp.Header
}

func TestACMEWithPebble(t *testing.T) {
	ctx := context.Background()
	ports := make([]int, 3)
	for i := range ports {
		var err error
		if ports[i], err = devnet.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	httpsA, httpA, httpsB := ports[0], ports[1], ports[2]
	peb := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpA, TLSPort: httpsA})

	st, err := store.Open(ctx, pgtest.URL(t), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	alice, err := st.UpsertUser(ctx, "alice@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := st.UpsertUser(ctx, "bob@example.com", "", false)
	if err != nil {
		t.Fatal(err)
	}
	aliceID := &identity.Identity{UserID: alice.ID, Email: alice.Email, Name: alice.Name}
	bobID := &identity.Identity{UserID: bob.ID, Email: bob.Email, Name: bob.Name}
	for _, p := range []struct {
		name string
		id   *identity.Identity
	}{{"shop", aliceID}, {"bobs", bobID}} {
		if _, err := st.CreateProject(ctx, p.id, store.NewProject{Name: p.name, AccessClass: "public"}); err != nil {
			t.Fatal(err)
		}
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "shop app at %s", r.Host)
	}))
	t.Cleanup(app.Close)
	if _, err := st.Pool().Exec(ctx, `INSERT INTO deployments (project_id, deployment_id, state, active, upstreams)
		SELECT id, '20260101-000000', 'Healthy', true, ARRAY[$1] FROM projects WHERE name = 'shop'`, app.URL); err != nil {
		t.Fatal(err)
	}

	a := startReplica(t, st, peb, httpsA, httpA)
	a.auth.Add("tok-alice", aliceID)
	a.auth.Add("tok-bob", bobID)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(peb.Root(t)) {
		t.Fatal("no pebble root")
	}
	c := httpsClient(roots)
	appURL := fmt.Sprintf("https://shop.%s:%d", appsDomain, httpsA)

	// The app host gets a certificate on its first handshake.
	status, body, serial1, hdr := get(t, c, appURL+"/")
	if status != http.StatusOK || !strings.Contains(body, "shop app") || serial1 == "" {
		t.Fatalf("GET %s = %d %q (serial %q)", appURL, status, body, serial1)
	}
	if hsts := hdr.Get("Strict-Transport-Security"); hsts != "max-age=86400" {
		t.Errorf("HSTS = %q, want max-age=86400", hsts)
	}
	if s := a.tls.Stats(); s.Obtained != 1 {
		t.Errorf("stats after the first certificate: %+v", s)
	}

	// curl with the Pebble root, as an operator would check it.
	rootFile := peb.RootFile(t)
	out, err := exec.Command("curl", "-sS", "--fail", "--cacert", rootFile,
		"--resolve", fmt.Sprintf("shop.%s:%d:127.0.0.1", appsDomain, httpsA), appURL+"/curl").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "shop app at shop."+appsDomain) {
		t.Fatalf("curl --cacert <pebble root> %s: %v\n%s", appURL, err, out)
	}

	// Plain HTTP redirects to HTTPS, path and query kept.
	status, _, _, hdr = get(t, c, fmt.Sprintf("http://shop.%s:%d/a/b?c=d", appsDomain, httpA))
	if want := appURL + "/a/b?c=d"; status != http.StatusPermanentRedirect || hdr.Get("Location") != want {
		t.Errorf("HTTP = %d Location %q, want 308 %q", status, hdr.Get("Location"), want)
	}

	// A project that does not exist, and an unverified custom domain, get
	// no certificate: the handshake fails, nothing is ordered.
	aliceAPI := a.client("alice")
	dom, err := aliceAPI.AddDomain(ctx, "shop", api.AddDomainRequest{Domain: "WWW.Shop.Example.", Primary: true})
	if err != nil {
		t.Fatal(err)
	}
	if dom.Domain != "www.shop.example" || dom.Verified || !dom.Primary || len(dom.DNS) < 2 || dom.DNS[0].Type != "TXT" {
		t.Fatalf("added domain = %+v", dom)
	}
	for _, host := range []string{"nothere." + appsDomain, "www.shop.example"} {
		if _, err := c.Get(fmt.Sprintf("https://%s:%d/", host, httpsA)); err == nil {
			t.Errorf("https://%s got a certificate", host)
		}
	}
	if s := a.tls.Stats(); s.Obtained != 1 {
		t.Errorf("certificates were ordered for refused names: %+v", s)
	}
	// ... and no route either.
	req, _ := http.NewRequest(http.MethodGet, a.api+"/", nil)
	req.Host = "www.shop.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unverified domain routed: %v %v", resp, err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "shop app") {
			t.Fatal("an unverified domain reached the app")
		}
	}

	// Verification fails without the TXT record, then succeeds with it.
	if _, err := aliceAPI.VerifyDomain(ctx, "shop", "www.shop.example"); !isStatus(err, 422) || !strings.Contains(err.Error(), "_rise-challenge.www.shop.example") {
		t.Fatalf("verify without the TXT record: %v", err)
	}
	peb.SetTXT(t, domains.ChallengePrefix+"www.shop.example", dom.DNS[0].Value)
	if dom, err = aliceAPI.VerifyDomain(ctx, "shop", "www.shop.example"); err != nil || !dom.Verified {
		t.Fatalf("verify: %+v %v", dom, err)
	}
	waitFor(t, "the verified domain in the route table", func() bool { return a.table.IsDomain("www.shop.example") })
	// The verified primary domain is the project's URL.
	if p, err := aliceAPI.GetProject(ctx, "shop"); err != nil || p.URL != "https://www.shop.example" {
		t.Errorf("project URL with a verified primary domain: %+v %v", p, err)
	}
	customURL := fmt.Sprintf("https://www.shop.example:%d", httpsA)
	status, body, _, _ = get(t, c, customURL+"/")
	if status != http.StatusOK || body != "shop app at www.shop.example:"+strconv.Itoa(httpsA) {
		t.Fatalf("GET %s = %d %q", customURL, status, body)
	}

	// The hostile neighbour: bob cannot see, verify or remove alice's
	// domains (not found), nor claim her verified one.
	bobAPI := a.client("bob")
	if _, err := bobAPI.ListDomains(ctx, "shop"); !isStatus(err, 404) {
		t.Errorf("bob lists shop's domains: %v", err)
	}
	if err := bobAPI.RemoveDomain(ctx, "shop", "www.shop.example"); !isStatus(err, 404) {
		t.Errorf("bob removes shop's domain: %v", err)
	}
	if _, err := bobAPI.VerifyDomain(ctx, "shop", "www.shop.example"); !isStatus(err, 404) {
		t.Errorf("bob verifies shop's domain: %v", err)
	}
	if _, err := bobAPI.AddDomain(ctx, "bobs", api.AddDomainRequest{Domain: "www.shop.example"}); !isStatus(err, 409) {
		t.Errorf("bob claims shop's verified domain: %v", err)
	}

	// A forced renewal replaces the certificate.
	if err := a.tls.Renew(ctx, "shop."+appsDomain); err != nil {
		t.Fatal(err)
	}
	_, _, serial2, _ := get(t, c, appURL+"/")
	if serial2 == "" || serial2 == serial1 {
		t.Fatalf("serial after renewal %q, before %q", serial2, serial1)
	}
	if s := a.tls.Stats(); s.Renewed != 1 {
		t.Errorf("stats after the renewal: %+v", s)
	}

	// A second replica on the same database serves the same certificates
	// from PostgreSQL without ordering any.
	b := startReplica(t, st, peb, httpsB, 0)
	_, body, serialB, _ := get(t, c, fmt.Sprintf("https://shop.%s:%d/", appsDomain, httpsB))
	if serialB != serial2 || !strings.Contains(body, "shop app") {
		t.Fatalf("replica B serves serial %q (%q), want %q", serialB, body, serial2)
	}
	status, _, _, _ = get(t, c, fmt.Sprintf("https://www.shop.example:%d/", httpsB))
	if status != http.StatusOK {
		t.Fatalf("replica B on the custom domain: %d", status)
	}
	if s := b.tls.Stats(); s.Obtained != 0 || s.Renewed != 0 {
		t.Errorf("replica B ordered certificates: %+v", s)
	}

	// Removing the domain stops routing at once, on every replica.
	if err := aliceAPI.RemoveDomain(ctx, "shop", "www.shop.example"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{a, b} {
		waitFor(t, "the removed domain to leave the route table", func() bool { return !r.table.IsDomain("www.shop.example") })
		status, body, _, _ = get(t, c, fmt.Sprintf("https://www.shop.example:%d/", r.https))
		if status != http.StatusNotFound || strings.Contains(body, "shop app") {
			t.Errorf("removed domain on replica %d: %d %q", r.https, status, body)
		}
	}
}

func isStatus(err error, code int) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.Status == code
}

// waitFor polls cond for up to 5s: notifications arrive asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
