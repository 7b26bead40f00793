package edge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/caddytest"
	"github.com/riseplatform/rise/dev/realpart"
	"github.com/riseplatform/rise/server/edge"
)

// TestEdgeVsCaddy measures the edge against Caddy's reverse_proxy and a
// direct connection to the same app, interleaved (direct, Caddy, edge
// public, edge private with a valid session; repeated) so that the noise of
// a shared machine hits all alike. The load generator is wrk (-t2 -c32).
// It prints one line per budget, the edge's cost relative to the reference
// (lower is better; within budget when ratio <= budget):
//
//	edge_public_vs_caddy ratio=<Caddy req/s ÷ edge req/s> budget=1.0
//	edge_public_p99_vs_caddy ratio=<edge p99 ÷ Caddy p99> budget=1.0
//	edge_private_vs_caddy, edge_private_p99_vs_caddy: the same, private app
//	edge_public_p50_vs_direct ratio=<edge p50 ÷ direct p50> budget=2.0
//	edge_https_vs_caddy, edge_https_p99_vs_caddy: the public app over HTTPS,
//	  the edge terminating TLS (server/edgetls) vs Caddy terminating TLS
//
// Gate: RISE_BENCH_EDGE=1 runs it (Caddy is built on first use, ~2 min
// cold); RISE_BENCH_EDGE_ENFORCE=1 fails over budget;
// RISE_BENCH_EDGE_SECONDS (default 3) and RISE_BENCH_EDGE_ROUNDS (default 5)
// size it. Each ratio is the median over the rounds of the ratio within a
// round.
//
//	RISE_BENCH_EDGE=1 go test -run TestEdgeVsCaddy -v ./server/edge/
//
// `make bench` runs it (with the Go benchmarks) and `make bench-check`
// checks its budgets.
func TestEdgeVsCaddy(t *testing.T) {
	if os.Getenv("RISE_BENCH_EDGE") == "" {
		t.Skip("benchmark: set RISE_BENCH_EDGE=1 to run")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		realpart.Missing(t, "wrk (dev/deps.sh installs it)", err)
	}
	secs, rounds := envInt("RISE_BENCH_EDGE_SECONDS", 3), envInt("RISE_BENCH_EDGE_ROUNDS", 5)

	body := []byte("hello from the app\n")
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
	defer app.Close()
	appAddr := app.Listener.Addr().String()
	caddy := caddytest.ReverseProxy(t, appAddr)

	p := newPlatform(t, "127.0.0.1", "localhost", func(o *edge.Options) { o.AccessLog = edge.AccessLogSampled })
	if _, err := p.st.Pool().Exec(context.Background(), "UPDATE deployments SET upstreams = ARRAY[$1]", app.URL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the edge routes to the benchmark app", func() bool {
		r, _ := p.routes.Lookup(context.Background(), "open")
		return r != nil && slices.Equal(r.Upstreams, []string{app.URL})
	})
	b := newBrowser(t)
	resp, _ := b.get(b.login(p, "alice@example.com", p.app("hello", "/")))
	session := cookie(resp, edge.SessionCookie)
	if session == nil {
		t.Fatal("no app session")
	}
	// HTTPS: the edge terminating TLS with rise's TLS manager (a static
	// certificate, as with a wildcard for the apps domain) and Caddy
	// terminating TLS with the same certificate, in front of the same app.
	certFile, keyFile := selfSignedCert(t)
	edgeTLS := serveEdgeTLS(t, p, certFile, keyFile)
	caddyTLS := caddytest.ReverseProxyTLS(t, appAddr, certFile, keyFile)
	// Each target answers the app's body with 200 (checked once by hand).
	targets := []struct {
		name, url string
		hdr       []string
	}{
		{"direct", "http://" + appAddr + "/", nil},
		{"caddy", "http://" + caddy + "/", nil},
		{"edge_public", "http://127.0.0.1:" + p.port + "/", []string{"Host: open.localhost:" + p.port}},
		{"edge_private", "http://127.0.0.1:" + p.port + "/", []string{"Host: hello.localhost:" + p.port,
			"Cookie: " + edge.SessionCookie + "=" + session.Value}},
		{"caddy_https", "https://" + caddyTLS + "/", nil},
		{"edge_https", "https://" + edgeTLS + "/", []string{"Host: open.localhost:" + p.port}},
	}
	for _, tg := range targets {
		req, _ := http.NewRequest(http.MethodGet, tg.url, nil)
		for _, h := range tg.hdr {
			k, v, _ := strings.Cut(h, ": ")
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := insecureClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != string(body) {
			t.Fatalf("%s: %d %q", tg.name, resp.StatusCode, got)
		}
	}

	res := map[string][]wrkResult{}
	for round := range rounds {
		order := slices.Clone(targets)
		if round%2 == 1 {
			slices.Reverse(order) // ABBA: drift in the machine's load hits all alike
		}
		for _, tg := range order {
			args := []string{"-t2", "-c32", "-d" + strconv.Itoa(secs) + "s", "--latency"}
			for _, h := range tg.hdr {
				args = append(args, "-H", h)
			}
			out, err := exec.Command(wrk, append(args, tg.url)...).CombinedOutput()
			if err != nil {
				t.Fatalf("wrk %s: %v\n%s", tg.name, err, out)
			}
			r, err := parseWrk(string(out))
			if err != nil {
				t.Fatalf("wrk %s: %v\n%s", tg.name, err, out)
			}
			t.Logf("round %d %-12s %8.0f req/s  p50 %6.0fµs  p99 %6.0fµs  errors %d", round+1, tg.name, r.rps, r.p50, r.p99, r.errors)
			if r.errors != 0 {
				t.Errorf("%s: %d errors or non-2xx responses", tg.name, r.errors)
			}
			res[tg.name] = append(res[tg.name], r)
		}
	}
	// ratio is the median over the rounds of a/b within each round: the
	// targets of one round ran seconds apart, under the same load.
	ratio := func(a, b string, f func(wrkResult) float64) float64 {
		var v []float64
		for i := range res[a] {
			v = append(v, f(res[a][i])/f(res[b][i]))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	rps := func(r wrkResult) float64 { return r.rps }
	p50 := func(r wrkResult) float64 { return r.p50 }
	p99 := func(r wrkResult) float64 { return r.p99 }
	budgets := []struct {
		name          string
		ratio, budget float64
	}{
		{"edge_public_vs_caddy", ratio("caddy", "edge_public", rps), 1.0},
		{"edge_public_p99_vs_caddy", ratio("edge_public", "caddy", p99), 1.0},
		{"edge_private_vs_caddy", ratio("caddy", "edge_private", rps), 1.0},
		{"edge_private_p99_vs_caddy", ratio("edge_private", "caddy", p99), 1.0},
		{"edge_public_p50_vs_direct", ratio("edge_public", "direct", p50), 2.0},
		{"edge_https_vs_caddy", ratio("caddy_https", "edge_https", rps), 1.0},
		{"edge_https_p99_vs_caddy", ratio("edge_https", "caddy_https", p99), 1.0},
	}
	for _, bg := range budgets {
		fmt.Printf("%s ratio=%.2f budget=%.1f\n", bg.name, bg.ratio, bg.budget)
		if bg.ratio > bg.budget && os.Getenv("RISE_BENCH_EDGE_ENFORCE") != "" {
			t.Errorf("%s: ratio %.2f over budget %.1f", bg.name, bg.ratio, bg.budget)
		}
	}
}

type wrkResult struct {
	rps, p50, p99 float64 // req/s, µs
	errors        int
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkErrors  = regexp.MustCompile(`(?:Non-2xx or 3xx responses|Socket errors: connect|read|write|timeout):?\s+(\d+)`)
)

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, l := range wrkLatency.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(l[2], 64)
		v *= map[string]float64{"us": 1, "ms": 1e3, "s": 1e6}[l[3]]
		if l[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no latency distribution")
	}
	for _, e := range wrkErrors.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(e[1])
		r.errors += n
	}
	return r, nil
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
