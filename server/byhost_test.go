package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type fakeEdge struct{}

func (fakeEdge) Project(host string) (string, bool) {
	p, ok := strings.CutSuffix(strings.Split(host, ":")[0], ".apps.test")
	return p, ok
}

func (fakeEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("app")) }

func TestByHostSendsAppHostsToTheEdge(t *testing.T) {
	rise := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("rise")) })
	h := byHost(fakeEdge{}, nil, rise)
	for host, want := range map[string]string{
		"hello.apps.test:3000": "app",
		"hello.apps.test":      "app",
		"127.0.0.1:3000":       "rise",
		"apps.test":            "rise",
	} {
		r := httptest.NewRequest("GET", "/api/v1/health", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Body.String(); got != want {
			t.Errorf("Host %s went to %q, want %q", host, got, want)
		}
	}
}
