package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/servertest"
)

func TestHealthAndVersion(t *testing.T) {
	env := servertest.New(t)
	ctx := context.Background()
	h, err := env.Anonymous().Health(ctx)
	if err != nil || h.Status != "ok" {
		t.Fatalf("health = %+v, %v", h, err)
	}
	if h, err := env.Anonymous().Ready(ctx); err != nil || h.Status != "ok" || h.Database != "ok" {
		t.Fatalf("ready = %+v, %v", h, err)
	}
	v, err := env.Anonymous().ServerVersion(ctx)
	if err != nil || v.Version != "test" || v.Protocol != sdk.ProtocolVersion {
		t.Fatalf("version = %+v, %v", v, err)
	}
	env.Store.Close() // the database is gone now: still alive, not ready
	if status, body := call(t, env, nil, "GET", "/health", nil); status != http.StatusOK {
		t.Fatalf("liveness without database: %d %s", status, body)
	}
	status, body := call(t, env, nil, "GET", "/ready", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unreachable"`) {
		t.Fatalf("readiness without database: %d %s", status, body)
	}
}

func TestRequestIDs(t *testing.T) {
	env := servertest.New(t)
	get := func(id string) string {
		req, _ := http.NewRequest("GET", env.URL+"/api/v1/version", nil)
		if id != "" {
			req.Header.Set(server.RequestIDHeader, id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get(server.RequestIDHeader)
	}
	if got := get("abc-123"); got != "abc-123" {
		t.Errorf("well-formed id not kept: %q", got)
	}
	a, b := get(""), get("bad id\u00e9")
	if len(a) != 24 || len(b) != 24 || a == b || b == "bad id\u00e9" {
		t.Errorf("generated ids: %q %q", a, b)
	}
}

func TestUnknownRoutesAndMethodsUseErrorShape(t *testing.T) {
	env := servertest.New(t)
	status, body := call(t, env, nil, "GET", "/nope", nil)
	if status != 404 || !strings.Contains(apiErr(t, body).Message, "no such API route") {
		t.Errorf("unknown route: %d %s", status, body)
	}
	status, body = call(t, env, nil, "PUT", "/version", nil)
	if status != 405 || apiErr(t, body).Message == "" {
		t.Errorf("wrong method: %d %s", status, body)
	}
}

func TestPanicsBecome500WithRequestID(t *testing.T) {
	env := servertest.New(t, func(_ *config.Server, d *server.Deps) {
		d.Mounts = append(d.Mounts, server.MountFunc(func(r *mux.Router) {
			r.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
		}))
	})
	status, body := call(t, env, nil, "GET", "/boom", nil)
	if status != 500 || !strings.Contains(apiErr(t, body).Message, "request id") || strings.Contains(string(body), "kaboom") {
		t.Fatalf("panic: %d %s", status, body)
	}
	// The server keeps serving.
	if status, _ := call(t, env, nil, "GET", "/version", nil); status != 200 {
		t.Fatalf("after panic: %d", status)
	}
}

type ctlFunc func(ctx context.Context) error

func (f ctlFunc) Run(ctx context.Context) error { return f(ctx) }

func TestServeRunsControllersAndShutsDownGracefully(t *testing.T) {
	env := servertest.New(t)
	started := make(chan struct{})
	stopped := make(chan struct{})
	var runs atomic.Int32
	failing := ctlFunc(func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			return errors.New("transient") // restarted after backoff
		}
		close(started)
		<-ctx.Done()
		close(stopped)
		return ctx.Err()
	})
	release := make(chan struct{})
	inHandler := make(chan struct{})
	srv, err := server.New(env.Config, server.Deps{
		Store: env.Store, Auth: env.Auth, Controllers: []server.Controller{failing},
		Mounts: []server.Mount{server.MountFunc(func(r *mux.Router) {
			r.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
				close(inHandler)
				<-release
				w.WriteHeader(http.StatusTeapot)
			})
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("controller was not restarted after its error")
	}
	slow := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/slow")
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-inHandler
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("controller context not cancelled on shutdown")
	}
	// The in-flight request still completes.
	close(release)
	if code := <-slow; code != http.StatusTeapot {
		t.Fatalf("in-flight request during shutdown: %d", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/api/v1/version"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestAnonymousAndBadTokens(t *testing.T) {
	env := servertest.New(t)
	status, body := call(t, env, nil, "GET", "/projects", nil)
	if status != 401 || apiErr(t, body).Suggestions[0] != "Run 'rise login' first." {
		t.Errorf("anonymous: %d %s", status, body)
	}
	bad := &servertest.Caller{Token: "forged"}
	if status, _ := call(t, env, bad, "GET", "/users/me", nil); status != 401 {
		t.Errorf("bad token: %d", status)
	}
	_, err := env.Anonymous().Me(context.Background())
	if api.StatusOf(err) != 401 {
		t.Errorf("client Me anonymous: %v", err)
	}
}

func TestDrainingEndsStreamsOnShutdown(t *testing.T) {
	env := servertest.New(t)
	streaming := make(chan struct{})
	srv, err := server.New(env.Config, server.Deps{
		Store: env.Store, ShutdownGrace: time.Minute,
		Mounts: []server.Mount{server.MountFunc(func(r *mux.Router) {
			r.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				close(streaming)
				select {
				case <-server.Draining(r.Context()):
				case <-r.Context().Done():
				}
			})
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-streaming
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // the grace period is a minute
		t.Fatal("shutdown waited for a stream that should have ended on Draining")
	}
	if server.Draining(context.Background()) != nil {
		t.Error("Draining outside a server is not nil")
	}
}
