package edge

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// downFor is how long an upstream that refused a connection is skipped.
const downFor = 5 * time.Second

// maxUpstreams bounds the cache of parsed upstreams: upstreams change with
// every deployment, so the cache is cleared now and then instead of growing
// forever (live ones are re-parsed lazily).
const maxUpstreams = 4096

// NewTransport returns the edge's transport to upstreams: one per edge,
// shared by all apps, keeping many idle connections per upstream.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil, // never an HTTP proxy from the environment: upstreams are local
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // apps may take their time (long polls)
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass encodings through untouched
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}

// upstream is one address of a route with its passive health.
type upstream struct {
	url       *url.URL
	downUntil atomic.Int64 // unix nanos; 0 when healthy
}

func (u *upstream) healthy(now int64) bool { return u.downUntil.Load() <= now }

// balancer picks upstreams round-robin, skipping those that recently
// refused connections, and retries a refused, replayable request on the
// next one (http.RoundTripper under the edge's ReverseProxy).
type balancer struct {
	base  http.RoundTripper
	rr    atomic.Uint64
	ups   sync.Map // address → *upstream
	nups  atomic.Int64
	onErr func(addr string, err error)
}

// pickKey carries the route of a request from ServeHTTP to the balancer.
type pickKey struct{}

// pick is what ServeHTTP chose for a request.
type pick struct {
	route *Route
	first *upstream
	start int
}

func (b *balancer) upstream(addr string) (*upstream, error) {
	if u, ok := b.ups.Load(addr); ok {
		return u.(*upstream), nil
	}
	target, err := url.Parse(addr)
	if err != nil || target.Host == "" || (target.Scheme != "http" && target.Scheme != "https") {
		return nil, errors.New("invalid upstream address")
	}
	u, loaded := b.ups.LoadOrStore(addr, &upstream{url: target})
	if !loaded && b.nups.Add(1) > maxUpstreams {
		b.ups.Clear()
		b.nups.Store(0)
	}
	return u.(*upstream), nil
}

// choose returns the next healthy upstream of route (or the next one at all
// when none is healthy) and its index.
func (b *balancer) choose(route *Route) (*upstream, int, error) {
	n := len(route.Upstreams)
	start := int(b.rr.Add(1) % uint64(n))
	now := time.Now().UnixNano()
	var first *upstream
	for i := range n {
		idx := (start + i) % n
		u, err := b.upstream(route.Upstreams[idx])
		if err != nil {
			return nil, 0, err
		}
		if u.healthy(now) {
			return u, idx, nil
		}
		if first == nil {
			first = u
		}
	}
	return first, start, nil
}

// RoundTrip sends req to the upstream ServeHTTP picked; when that refuses
// the connection (nothing was sent), it is marked down and a request
// without a body goes to the next healthy upstream instead.
func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.base.RoundTrip(req)
	if err == nil || !refused(err) {
		return resp, err
	}
	p, _ := req.Context().Value(pickKey{}).(*pick)
	if p == nil {
		return resp, err
	}
	now := time.Now()
	p.first.downUntil.Store(now.Add(downFor).UnixNano())
	b.onErr(p.first.url.Host, err)
	if req.Body != nil && req.Body != http.NoBody {
		return resp, err
	}
	n := len(p.route.Upstreams)
	for i := 1; i < n; i++ {
		u, uerr := b.upstream(p.route.Upstreams[(p.start+i)%n])
		if uerr != nil || !u.healthy(now.UnixNano()) {
			continue
		}
		retry := req.Clone(req.Context())
		retry.URL.Scheme, retry.URL.Host = u.url.Scheme, u.url.Host
		resp, err = b.base.RoundTrip(retry)
		if err == nil || !refused(err) {
			return resp, err
		}
		u.downUntil.Store(time.Now().Add(downFor).UnixNano())
		b.onErr(u.url.Host, err)
	}
	return resp, err
}

// refused reports whether err means the upstream did not take the
// connection at all (so the request was not sent).
func refused(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// newProxy is the edge's one reverse proxy: the target comes from the
// request's pick. Responses of unknown length (chunked, e.g. a stream or a
// long poll) and text/event-stream are flushed after every write — the
// ReverseProxy does that by itself with FlushInterval 0 — while responses
// of known length go out in as few writes as possible (flushing those
// after every write costs a syscall per header block and body). Upgrades
// (WebSocket) pass through.
func (h *Handler) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			p := pr.In.Context().Value(pickKey{}).(*pick)
			pr.SetURL(p.first.url)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host // the app sees the public host
		},
		ModifyResponse: h.dropRiseCookies,
		Transport:      h.bal,
		FlushInterval:  0,
		BufferPool:     bufferPool{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			h.o.Log.Warn("edge: upstream error", "host", r.Host, "error", err)
			if project, ok := h.Project(r.Host); ok {
				h.o.Metrics.EdgeUpstreamError(project)
			}
			h.page(w, http.StatusBadGateway, "The app is not answering.")
		},
	}
}

// dropRiseCookies removes Set-Cookie headers for rise's own cookies from an
// app's response: an app must not plant a session (its own token) in a
// visitor's browser for rise or another app (session fixation).
func (h *Handler) dropRiseCookies(resp *http.Response) error {
	sc := resp.Header["Set-Cookie"]
	if len(sc) == 0 {
		return nil
	}
	kept := sc[:0:0]
	for _, line := range sc {
		name, _, _ := strings.Cut(line, "=")
		if slices.Contains(h.strip, strings.TrimSpace(name)) {
			h.o.Log.Warn("edge: dropped an app's Set-Cookie for a rise cookie", "host", resp.Request.Host, "cookie", strings.TrimSpace(name))
			continue
		}
		kept = append(kept, line)
	}
	if len(kept) == 0 {
		resp.Header.Del("Set-Cookie")
	} else {
		resp.Header["Set-Cookie"] = kept
	}
	return nil
}

// bufferPool recycles the proxy's copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
