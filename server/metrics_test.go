package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/metrics"
	"github.com/riseplatform/rise/server/servertest"
)

// scrape GETs url with token ("" = anonymous) and returns status and body.
func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func wantSeries(t *testing.T, body string, series ...string) {
	t.Helper()
	for _, s := range series {
		if !strings.Contains(body, "\n"+s) {
			t.Errorf("metrics lack %s", s)
		}
	}
}

// appEdge is a minimal server.Edge: every *.apps.test host is an app; only
// "shop" exists (labelled like the real edge does after its route lookup).
type appEdge struct{}

func (e appEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, _ := e.Project(r.Host); p == "shop" {
		metrics.LabelEdgeProject(r, p)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	http.NotFound(w, r)
}
func (appEdge) Project(host string) (string, bool) {
	return strings.CutSuffix(host, ".apps.test")
}

func TestMetricsOnMainListenerForAdminsOnly(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t, func(_ *config.Server, d *server.Deps) { d.Edge = appEdge{} })
	alice := env.User(t, "alice@example.com", false)
	root := env.User(t, "root@example.com", true)
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Client.GetProject(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	// A project row in a live state for rise_deployments.
	if _, err := env.Store.Pool().Exec(ctx, `INSERT INTO deployments (project_id, deployment_id, state)
		SELECT id, '20261201-000000', 'Pending' FROM projects WHERE name = 'shop'`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/api/v1/no/such/route", "/wp-login.php", "/api/v1/projects/zz-" + strings.Repeat("x", 20)} {
		if code, _ := scrape(t, env.URL+p, ""); code != http.StatusNotFound && code != http.StatusUnauthorized {
			t.Fatalf("GET %s: %d", p, code)
		}
	}
	// App traffic (by Host) is the edge's to count, not the API's.
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/secret-path", nil)
	req.Host = "shop.apps.test"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("app request: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	req.Host = "random-host-1234.apps.test"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown app request: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	for _, c := range []struct {
		who   string
		token string
		want  int
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"bad token", "nope", http.StatusUnauthorized},
		{"user", alice.Token, http.StatusForbidden},
		{"service account", env.ServiceAccount(t, "shop").Token, http.StatusForbidden},
	} {
		code, body := scrape(t, env.URL+server.MetricsPath, c.token)
		if code != c.want || strings.Contains(body, "rise_http") {
			t.Errorf("%s: GET /metrics = %d, want %d; body %.200s", c.who, code, c.want, body)
		}
	}

	code, body := scrape(t, env.URL+server.MetricsPath, root.Token)
	if code != http.StatusOK {
		t.Fatalf("admin: GET /metrics = %d: %s", code, body)
	}
	wantSeries(t, body,
		`rise_http_requests_total{method="POST",route="/api/v1/projects",status="201"} 1`,
		`rise_http_requests_total{method="GET",route="/api/v1/projects/{name}",status="200"} 1`,
		`rise_http_requests_total{method="GET",route="other",status="404"}`,
		`rise_http_requests_total{method="GET",route="/metrics",status="401"} 1`, // the bad token: 401 before routing, "other"
		`rise_http_requests_total{method="GET",route="/metrics",status="403"} 2`,
		`rise_http_request_duration_seconds_bucket{method="POST",route="/api/v1/projects",le="+Inf"} 1`,
		`rise_edge_requests_total{project="shop",status="418"} 1`,
		`rise_edge_requests_total{project="-",status="404"} 1`,
		`rise_deployments{state="Pending"} 1`,
		`rise_deployments{state="Healthy"} 0`,
		`rise_db_pool_max_conns `,
		`rise_db_pool_acquires_total `,
		`go_goroutines `,
	)
	for _, leak := range []string{"wp-login", "no/such", "zz-x", "secret-path", "random-host", `state="Superseded"`} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics contain %q (raw paths must not become labels; terminal states are not counted)", leak)
		}
	}
}

func TestMetricsOnOwnListener(t *testing.T) {
	// A free loopback port for the metrics listener.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	env := servertest.New(t, func(c *config.Server, _ *server.Deps) { c.Metrics = &config.Metrics{Listen: addr} })
	root := env.User(t, "root@example.com", true)
	// The main listener does not serve /metrics at all, not even to admins.
	for _, tok := range []string{"", root.Token} {
		if code, _ := scrape(t, env.URL+server.MetricsPath, tok); code != http.StatusNotFound {
			t.Errorf("main listener GET /metrics (token %t) = %d, want 404", tok != "", code)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Server.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	if code, _ := scrape(t, "http://"+ln.Addr().String()+"/api/v1/health", ""); code != http.StatusOK {
		t.Fatalf("health: %d", code)
	}
	var code int
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + server.MetricsPath)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code, body = resp.StatusCode, string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics listener: %v", err)
		}
	}
	if code != http.StatusOK {
		t.Fatalf("metrics listener: %d %s", code, body)
	}
	wantSeries(t, body, `rise_http_requests_total{method="GET",route="/api/v1/health",status="200"} 1`, `rise_db_pool_total_conns `)
	// Only /metrics there: the API is not reachable on the metrics address.
	if code, _ := scrape(t, "http://"+addr+"/api/v1/health", ""); code != http.StatusNotFound {
		t.Errorf("metrics listener serves the API: %d", code)
	}
}

func TestMetricsListenerInUseFailsServe(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	env := servertest.New(t, func(c *config.Server, _ *server.Deps) {
		c.Metrics = &config.Metrics{Listen: busy.Addr().String()}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = env.Server.Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "metrics: listen on "+busy.Addr().String()) {
		t.Fatalf("Serve with a busy metrics address: %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("main listener left open: %v", err)
	}
}
