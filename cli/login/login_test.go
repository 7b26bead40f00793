package login

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
	return ports
}

func TestListenTakesFirstFreePort(t *testing.T) {
	ports := freePorts(t, 3)
	busy, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(ports[0]))
	if err != nil {
		t.Skipf("port raced: %v", err)
	}
	defer busy.Close()
	ln, port, err := listen(ports)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if port != ports[1] {
		t.Errorf("got port %d, want the second (%d)", port, ports[1])
	}
}

func TestListenAllBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := ln.Addr().(*net.TCPAddr).Port
	_, _, err = listen([]int{p})
	if err == nil || !strings.Contains(err.Error(), "all in use") || !strings.Contains(err.Error(), "--device") {
		t.Errorf("err = %v", err)
	}
}

func TestCallbackHandler(t *testing.T) {
	results := make(chan callbackResult, 1)
	h := callbackHandler("st8", results)

	// A callback with another state is not ours: 400, keep waiting.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callback?code=c&state=other", nil))
	if rec.Code != http.StatusBadRequest || len(results) != 0 {
		t.Fatalf("foreign state: %d, %d results", rec.Code, len(results))
	}
	// An ?error= without our state (any web page can send the browser
	// here) does not abort the login either.
	for _, q := range []string{"error=access_denied", "error=access_denied&state=other", "error=access_denied&state="} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callback?"+q, nil))
		if rec.Code != http.StatusBadRequest || len(results) != 0 {
			t.Fatalf("%s: %d, %d results", q, rec.Code, len(results))
		}
	}
	// The IdP refused: the error is reported with exit code 4.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callback?error=access_denied&error_description=no+%3Cb%3E&state=st8", nil))
	res := <-results
	if exitcode.CodeOf(res.err) != exitcode.NotAuthenticated || !strings.Contains(res.err.Error(), "access_denied: no <b>") {
		t.Fatalf("error callback: %v", res.err)
	}
	if strings.Contains(rec.Body.String(), "<b>") {
		t.Errorf("error description not escaped: %s", rec.Body.String())
	}
	// The real one.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/callback?code=abc&state=st8", nil))
	res = <-results
	if res.err != nil || res.code != "abc" || !strings.Contains(rec.Body.String(), "Login successful") {
		t.Fatalf("code callback: %+v %s", res, rec.Body.String())
	}
	// A duplicate does not block.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/callback?code=abc&state=st8", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/callback?code=abc&state=st8", nil))
}

func TestHeadless(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	o := Options{Getenv: env(map[string]string{"DISPLAY": ":0", "SSH_CONNECTION": "1 2 3 4"})}
	if !o.headless() {
		t.Error("SSH session not headless")
	}
	o = Options{Getenv: env(map[string]string{"BROWSER": "w3m"})}
	if o.headless() {
		t.Error("$BROWSER set but headless")
	}
	var opened string
	o.OpenBrowser = func(u string) error { opened = u; return errors.New("x") }
	if err := o.open("http://x"); err == nil || opened != "http://x" {
		t.Error("OpenBrowser not used")
	}
}

// TestBrowserOpensOnlyWebURLs: an authorization URL that is not http(s)
// (a hostile or broken server) is never handed to the platform opener.
func TestBrowserOpensOnlyWebURLs(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "ms-settings:", "/relative", "https:///nohost"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(api.AuthorizeResponse{AuthorizationURL: u, State: "s"})
		}))
		opened := false
		_, err := Browser(context.Background(), Options{
			Client: api.NewClient(srv.URL, ""), Printer: &output.Printer{Out: io.Discard, Err: io.Discard},
			Ports: freePorts(t, 1), Timeout: time.Second, Getenv: func(string) string { return "" },
			OpenBrowser: func(string) error { opened = true; return nil },
		})
		srv.Close()
		if err == nil || opened {
			t.Errorf("%s: err %v, opened %v", u, err, opened)
		}
	}
}
