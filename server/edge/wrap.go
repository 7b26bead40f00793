package edge

import (
	"net/http"
	"net/url"
	"strings"
)

// Wrap returns a handler that sends requests for app hosts
// (<project>.<domain>) to the edge router and everything else — the rise
// API, login pages, requests for rise's own public host — to next. The
// server mounts it around its router:
//
//	handler = edgeHandler.Wrap(serverHandler)
func (h *Handler) Wrap(next http.Handler) http.Handler {
	var own string
	if u, err := url.Parse(h.o.PublicURL); err == nil {
		own = strings.ToLower(u.Hostname())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
			host = host[:i]
		}
		if _, ok := h.Project(r.Host); ok && host != own {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
