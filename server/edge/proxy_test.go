package edge

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestEdge serves routes through a real edge on loopback.
func newTestEdge(t *testing.T, routes map[string]*Route) string {
	t.Helper()
	h, err := New(Options{Domain: "apps.test", AccessLog: AccessLogAll,
		Lookup: func(_ context.Context, p string) (*Route, error) {
			if r, ok := routes[p]; ok {
				return r, nil
			}
			return nil, ErrUnknownProject
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestWebSocketUpgrade: an HTTP/1.1 upgrade passes through the edge and
// the connection then carries bytes both ways.
func TestWebSocketUpgrade(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" || r.Header.Get("Connection") != "Upgrade" {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		for { // echo lines, upper-cased
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			_, _ = rw.WriteString(strings.ToUpper(line))
			_ = rw.Flush()
		}
	}))
	defer app.Close()
	addr := newTestEdge(t, map[string]*Route{"ws": {Project: "ws", Deployment: "1", Upstreams: []string{app.URL}}})

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "GET /socket HTTP/1.1\r\nHost: ws.apps.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("upgrade: %d %v", resp.StatusCode, resp.Header)
	}
	for _, msg := range []string{"hello\n", "again\n"} {
		_, _ = io.WriteString(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != strings.ToUpper(msg) {
			t.Fatalf("echo of %q: %q %v", msg, got, err)
		}
	}
}

// TestStreaming: the edge forwards each chunk as the app flushes it.
func TestStreaming(t *testing.T) {
	release := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second\n")
	}))
	defer app.Close()
	defer close(release)
	addr := newTestEdge(t, map[string]*Route{"s": {Project: "s", Deployment: "1", Upstreams: []string{app.URL}}})
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.Host = "s.apps.test"
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk before the app finished: %q %v", line, err)
	}
}

// TestRoundRobinPassiveHealth: requests alternate between replicas; one
// that refuses connections is skipped, and requests without a body that hit
// it are retried on another replica (no errors).
func TestRoundRobinPassiveHealth(t *testing.T) {
	hits := map[string]int{}
	hitCh := make(chan string, 100)
	mk := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hitCh <- name
			_, _ = io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := mk("a"), mk("b")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	addr := newTestEdge(t, map[string]*Route{
		"rr":   {Project: "rr", Deployment: "1", Upstreams: []string{a.URL, b.URL}},
		"half": {Project: "half", Deployment: "1", Upstreams: []string{deadURL, a.URL}},
		"dead": {Project: "dead", Deployment: "1", Upstreams: []string{deadURL}},
	})
	get := func(host, method string, body io.Reader) int {
		req, _ := http.NewRequest(method, "http://"+addr+"/", body)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 10 {
		if code := get("rr.apps.test", http.MethodGet, nil); code != 200 {
			t.Fatalf("rr: %d", code)
		}
		hits[<-hitCh]++
	}
	if hits["a"] != 5 || hits["b"] != 5 {
		t.Errorf("round robin: %v", hits)
	}
	for i := range 10 {
		if code := get("half.apps.test", http.MethodGet, nil); code != 200 {
			t.Fatalf("half, GET %d: %d", i, code)
		}
		<-hitCh
	}
	// The dead replica is skipped now, even for requests with a body.
	for i := range 4 {
		if code := get("half.apps.test", http.MethodPost, strings.NewReader("x")); code != 200 {
			t.Fatalf("half, POST %d: %d", i, code)
		}
		<-hitCh
	}
	if code := get("dead.apps.test", http.MethodGet, nil); code != http.StatusBadGateway {
		t.Errorf("all replicas dead: %d", code)
	}
}

// TestAppCannotSetRiseCookies: an app's Set-Cookie for rise's cookies
// (session fixation) is dropped; its own cookies pass.
func TestAppCannotSetRiseCookies(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "rise_session=attacker; Domain=apps.test; Path=/")
		w.Header().Add("Set-Cookie", SessionCookie+"=attacker; Path=/")
		w.Header().Add("Set-Cookie", "theme=dark; Path=/")
	}))
	defer app.Close()
	h, err := New(Options{Domain: "apps.test", IdentityCookie: "rise_session",
		Lookup: func(context.Context, string) (*Route, error) {
			return &Route{Project: "a", Deployment: "1", Upstreams: []string{app.URL}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Host = "a.apps.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 1 || !strings.HasPrefix(sc[0], "theme=dark") {
		t.Errorf("Set-Cookie through the edge: %q", sc)
	}
}
