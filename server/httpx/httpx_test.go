package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
)

type body struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		status            int
		msg               string
	}{
		{"ok", "application/json", `{"name":"a","n":1}`, 0, ""},
		{"charset", "application/json; charset=utf-8", `{"name":"a"}`, 0, ""},
		{"wrong type", "text/plain", `{}`, 415, "must be JSON"},
		{"unknown field", "application/json", `{"nme":"a"}`, 400, `unknown field "nme"`},
		{"bad type", "application/json", `{"n":"x"}`, 400, `field "n" must be a int`},
		{"syntax", "application/json", `{"name":`, 400, "unexpected end"},
		{"empty", "application/json", ``, 400, "empty"},
		{"trailing", "application/json", `{} {}`, 400, "single JSON object"},
		{"too big", "application/json", `{"name":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			r.Header.Set("Content-Type", c.ctype)
			var b body
			err := Decode(httptest.NewRecorder(), r, &b)
			if c.status == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var he *Error
			if !errors.As(err, &he) || he.Status != c.status || !strings.Contains(he.Message, c.msg) {
				t.Fatalf("got %#v, want status %d containing %q", err, c.status, c.msg)
			}
		})
	}
}

func TestErrHidesInternals(t *testing.T) {
	w := httptest.NewRecorder()
	Err(w, httptest.NewRequest("GET", "/", nil), errors.New("pq: secret table details"))
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("internal error leaked: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	Err(w, httptest.NewRequest("GET", "/", nil), NewError(404, "Project 'x' not found", "y"))
	var out struct {
		Error       string   `json:"error"`
		Suggestions []string `json:"suggestions"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 404 || out.Error != "Project 'x' not found" || out.Suggestions[0] != "y" {
		t.Fatalf("bad error shape: %d %s", w.Code, w.Body)
	}
}

func TestErrDatabaseUnavailable(t *testing.T) {
	w := httptest.NewRecorder()
	down := fmt.Errorf("read project: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	Err(w, httptest.NewRequest("GET", "/", nil), down)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != RetryAfter ||
		!strings.Contains(w.Body.String(), "cannot reach its database") || strings.Contains(w.Body.String(), "dial") {
		t.Fatalf("outage answer: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}
