package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/benchbudget"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/servertest"
)

// seedListBench fills a fresh server with 10,000 projects and 100 users; the
// returned caller can read exactly 1,000 of them (500 their own, 500 through
// two teams).
func seedListBench(tb testing.TB) (*servertest.Env, *servertest.Caller) {
	tb.Helper()
	ctx := context.Background()
	env := servertest.New(tb)
	for _, q := range []string{
		`INSERT INTO users (email, name) SELECT 'u' || i || '@bench.test', 'u' || i FROM generate_series(1, 100) i`,
		`INSERT INTO teams (name) SELECT 'bt' || i FROM generate_series(1, 20) i`,
		// u1 is in bt1 and bt2; other users are spread over the other teams.
		`INSERT INTO team_members (team_id, user_id, role)
		 SELECT t.id, u.id, 'member' FROM teams t JOIN users u
		   ON (u.name = 'u1' AND t.name IN ('bt1', 'bt2'))
		   OR (u.name <> 'u1' AND t.name NOT IN ('bt1', 'bt2') AND substr(u.name, 2)::int % 18 = substr(t.name, 3)::int - 3)`,
		`INSERT INTO projects (name, owner_user_id, owner_team_id)
		 SELECT 'proj-' || lpad(i::text, 5, '0'),
		   CASE WHEN i % 10 <> 0 THEN (SELECT id FROM users WHERE name = 'u' || (2 + i % 99))
		        WHEN i % 20 = 0 THEN (SELECT id FROM users WHERE name = 'u1') END,
		   CASE WHEN i % 10 = 0 AND i % 20 <> 0 THEN (SELECT id FROM teams WHERE name = CASE WHEN i % 40 = 10 THEN 'bt1' ELSE 'bt2' END) END
		 FROM generate_series(1, 10000) i`,
		`ANALYZE`,
	} {
		if _, err := env.Store.Pool().Exec(ctx, q); err != nil {
			tb.Fatalf("seed: %v\n%s", err, q)
		}
	}
	u, err := env.Store.UserByRef(ctx, "u1")
	if err != nil {
		tb.Fatal(err)
	}
	c := env.As(&identity.Identity{UserID: u.ID, Email: u.Email, Name: u.Name})
	var n int
	if err := env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM projects`).Scan(&n); err != nil || n != 10000 {
		tb.Fatalf("seeded %d projects: %v", n, err)
	}
	return env, c
}

// listOnce fetches one page and counts its projects without a full JSON
// decode, so the figures measure the server, not the client's decoder.
func listOnce(client *http.Client, url, token string) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return bytes.Count(b, []byte(`"url":`)), nil
}

// listRequests is how many requests of each side one iteration makes.
const listRequests = 300

// BenchmarkListProjects measures GET /api/v1/projects?limit=1000 (all 1,000
// visible projects of 10,000) end to end on loopback, alternating with the
// reference: a bare Go HTTP server on loopback serving the same response
// bytes (transport and client only, no auth, SQL or encoding). The budget is
// the absolute one, p99 < 20 ms: ratio = rise's p99 ÷ 20 ms
// (docs/development.md); the reference's p99 is reported beside it.
func BenchmarkListProjects(b *testing.B) {
	env, c := seedListBench(b)
	url := env.URL + "/api/v1/projects?limit=1000"
	client := &http.Client{}
	body, err := fetch(client, url, c.Token)
	if err != nil {
		b.Fatal(err)
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer bare.Close()
	var riseLat, bareLat []time.Duration
	timed := func(u string, lat *[]time.Duration) {
		t0 := time.Now()
		if n, err := listOnce(client, u, c.Token); err != nil || n != 1000 {
			b.Fatalf("%s: got %d projects: %v", u, n, err)
		}
		*lat = append(*lat, time.Since(t0))
	}
	b.ResetTimer()
	for i := 0; i < b.N*listRequests; i++ {
		if i%2 == 0 {
			timed(url, &riseLat)
			timed(bare.URL, &bareLat)
		} else {
			timed(bare.URL, &bareLat)
			timed(url, &riseLat)
		}
	}
	b.StopTimer()
	p99 := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[min(len(d)-1, len(d)*99/100)]
	}
	rp, bp := p99(riseLat), p99(bareLat)
	b.ReportMetric(float64(rp.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(bp.Microseconds())/1000, "bare-p99-ms")
	benchbudget.Report(b, float64(rp)/float64(20*time.Millisecond), 1.0)
}

// fetch returns the body of one successful GET.
func fetch(client *http.Client, url, token string) ([]byte, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return b, err
}

// BenchmarkListProjectsLoad is the API budget as docs/development.md states it: GET
// /api/v1/projects for a user with 1,000 visible projects of 10,000, at 200
// req/s open-loop on loopback, p99 < 20 ms; ratio = p99 ÷ 20 ms. (The
// closed-loop BenchmarkListProjects holds the same-run reference.) The
// machine's load average is logged with the figures: on a shared machine
// they measure the machine too. RISE_BENCH_API_SECONDS sets the duration
// (default 5), RISE_BENCH_API_RATE the request rate (default 200).
//
//	go test -run '^$' -bench ListProjectsLoad -benchtime 1x ./server/
func BenchmarkListProjectsLoad(b *testing.B) {
	secs := 5
	if s, err := strconv.Atoi(os.Getenv("RISE_BENCH_API_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	rate := 200
	if s, err := strconv.Atoi(os.Getenv("RISE_BENCH_API_RATE")); err == nil && s > 0 {
		rate = s
	}
	env, c := seedListBench(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, limit := range []int{1000, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			url := fmt.Sprintf("%s/api/v1/projects?limit=%d", env.URL, limit)
			for range 20 { // warm up connections and caches
				if _, err := listOnce(client, url, c.Token); err != nil {
					b.Fatal(err)
				}
			}
			total := rate * secs * b.N
			lat := make([]time.Duration, total)
			errs := make([]error, total)
			var wg sync.WaitGroup
			start := time.Now()
			for i := range total {
				// Open loop: request i is due at start + i/rate; latency counts
				// from when it was due, so a slow server cannot hide queueing.
				due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
				time.Sleep(time.Until(due))
				wg.Go(func() {
					n, err := listOnce(client, url, c.Token)
					lat[i] = time.Since(due)
					if err == nil && n != limit {
						err = fmt.Errorf("got %d projects, want %d", n, limit)
					}
					errs[i] = err
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
			slices.Sort(lat)
			pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
			p50, p99 := pct(0.50), pct(0.99)
			b.Logf("GET /api/v1/projects?limit=%d (1,000 visible of 10,000): %d requests at %d req/s over %s: p50 %s, p90 %s, p99 %s, max %s (budget p99 < 20ms)",
				limit, total, rate, elapsed.Round(time.Millisecond), p50.Round(10*time.Microsecond), pct(0.90).Round(10*time.Microsecond),
				p99.Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
			if la, err := os.ReadFile("/proc/loadavg"); err == nil {
				b.Logf("load average during the run: %s", bytes.TrimSpace(la))
			}
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			benchbudget.Report(b, float64(p99)/float64(20*time.Millisecond), 1.0)
		})
	}
}
