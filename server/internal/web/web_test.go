package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

func TestPage(t *testing.T) {
	cases := []struct {
		query       string
		after       string
		limit, code int
	}{
		{"", "", DefaultLimit, 0},
		{"limit=1", "", 1, 0},
		{"limit=1000&cursor=" + Cursor("proj-00010"), "proj-00010", 1000, 0},
		{"limit=0", "", 0, 400},
		{"limit=1001", "", 0, 400},
		{"limit=abc", "", 0, 400},
		{"cursor=!!", "", 0, 400},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/v1/projects?"+c.query, nil)
		after, limit, err := Page(r)
		var he *httpx.Error
		switch {
		case c.code != 0 && (!errors.As(err, &he) || he.Status != c.code):
			t.Errorf("%q: err %v, want status %d", c.query, err, c.code)
		case c.code == 0 && (err != nil || after != c.after || limit != c.limit):
			t.Errorf("%q: got %q %d %v", c.query, after, limit, err)
		}
	}
}

func TestCallers(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	var he *httpx.Error
	if _, err := Caller(r); !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %v", err)
	}
	sa := &identity.Identity{ServiceAccount: &identity.ServiceAccount{ID: "x", Project: "p"}}
	r = r.WithContext(identity.With(r.Context(), sa))
	if id, err := Caller(r); err != nil || id != sa {
		t.Errorf("Caller(sa) = %v, %v", id, err)
	}
	if _, err := UserCaller(r, "manage teams"); !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Errorf("UserCaller(sa): %v", err)
	}
}
