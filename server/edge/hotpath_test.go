package edge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/riseplatform/rise/server/identity"
)

// BenchmarkServePrivate is the edge's hot path for a private app with a
// cached session, proxied to a real upstream (go test -bench -benchmem).
func BenchmarkServePrivate(b *testing.B) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer app.Close()
	route := &Route{Project: "p", Private: true, Deployment: "1", Upstreams: []string{app.URL}}
	h, err := New(Options{Domain: "apps.test", AccessLog: AccessLogSampled,
		Lookup: func(context.Context, string) (*Route, error) { return route, nil },
		Identity: func(*http.Request) (*identity.Identity, error) {
			return &identity.Identity{UserID: "u", Name: "alice"}, nil
		},
		CanAccess: func(context.Context, *identity.Identity, string) (bool, error) { return true, nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "http://p.apps.test/x", nil)
			req.Header.Set("Authorization", "Bearer some.opaque.token")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
