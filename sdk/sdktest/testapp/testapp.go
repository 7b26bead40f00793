// Package testapp is the tiny workload the runtime conformance kit deploys:
// an HTTP server that proves which deployment and which process answered.
//
// Environment (set by the kit in Workload.Env, PORT by the runtime or the
// kit):
//
//	PORT                  port to listen on (default 8080), all interfaces
//	SDKTEST_TOKEN         echoed by every response: which deployment this is
//	SDKTEST_START_DELAY   wait this long (a Go duration) before listening
//
// Every path answers 200 with "sdktest token=<token> instance=<instance>\n",
// where instance is random per process start, except:
//
//	/healthz             200 "ok", or 503 after /sdktest/unhealthy
//	/sdktest/unhealthy   makes /healthz answer 503 from now on
//	/sdktest/log?n=N     writes N numbered lines to stdout
//
// At start it writes "sdktest start 1" … "sdktest start 5" to stdout, and
// one line per request but health probes afterwards ("sdktest request <path>").
package testapp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// StartLines is how many numbered lines the app logs at start.
const StartLines = 5

// Body is what the app answers for token and instance.
func Body(token, instance string) string {
	return fmt.Sprintf("sdktest token=%s instance=%s\n", token, instance)
}

// App is one instance of the test workload.
type App struct {
	Token    string
	Instance string
	out      io.Writer
	mu       sync.Mutex
	sick     atomic.Bool
}

// New makes an app that logs to out.
func New(token string, out io.Writer) *App {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &App{Token: token, Instance: hex.EncodeToString(b), out: out}
}

// Logf writes one line to the app's output.
func (a *App) Logf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.out, format+"\n", args...)
}

// Start logs the start lines.
func (a *App) Start() {
	for i := 1; i <= StartLines; i++ {
		a.Logf("sdktest start %d", i)
	}
}

// ServeHTTP implements the app's routes.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/healthz" { // health probes come at any time: not logged
		a.Logf("sdktest request %s", r.URL.Path)
	}
	switch r.URL.Path {
	case "/healthz":
		if a.sick.Load() {
			http.Error(w, "unhealthy (asked by /sdktest/unhealthy)", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
		return
	case "/sdktest/unhealthy":
		a.sick.Store(true)
	case "/sdktest/log":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		for i := 1; i <= n; i++ {
			a.Logf("sdktest line %d", i)
		}
	}
	fmt.Fprint(w, Body(a.Token, a.Instance))
}

// Main runs the app from its environment; it returns only on error.
func Main() error {
	if d, err := time.ParseDuration(os.Getenv("SDKTEST_START_DELAY")); err == nil {
		time.Sleep(d)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	a := New(os.Getenv("SDKTEST_TOKEN"), os.Stdout)
	a.Start()
	return http.Serve(l, a)
}
