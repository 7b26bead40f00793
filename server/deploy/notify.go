package deploy

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/server/store"
)

// event is one change notification: a deployment (Deployment, Project set)
// or a project (Project set), a project's custom domains (Domains), or
// Resync after the listener reconnected (events may have been missed).
type event struct {
	Deployment, Project string // uuids
	Resync              bool
	Domains             string // project uuid whose verified domains changed (domainsync.go)
}

func parseEvent(payload string) (event, bool) {
	kind, rest, _ := strings.Cut(payload, ":")
	switch kind {
	case "d":
		d, p, ok := strings.Cut(rest, ":")
		return event{Deployment: d, Project: p}, ok
	case "p":
		return event{Project: rest}, rest != ""
	}
	return event{}, false
}

// notifier holds one LISTEN connection and fans events out to callbacks,
// which must not block.
type notifier struct {
	repo *repo
	log  hclog.Logger

	mu     sync.Mutex
	subs   map[int]func(event)
	next   int
	ready  chan struct{}
	readyO sync.Once

	failures int // consecutive failed listens (Run's goroutine only)
}

func newNotifier(r *repo, log hclog.Logger) *notifier {
	return &notifier{repo: r, log: log, subs: map[int]func(event){}, ready: make(chan struct{})}
}

func (n *notifier) subscribe(f func(event)) (cancel func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id := n.next
	n.next++
	n.subs[id] = f
	return func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	}
}

func (n *notifier) publish(e event) {
	n.mu.Lock()
	fs := make([]func(event), 0, len(n.subs))
	for _, f := range n.subs {
		fs = append(fs, f)
	}
	n.mu.Unlock()
	for _, f := range fs {
		f(e)
	}
}

// Run listens until ctx ends, reconnecting with backoff (capped at
// maxListenBackoff, so a returning database is noticed quickly).
func (n *notifier) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := n.repo.Listen(ctx, n.listening, func(channel, payload string) {
			parse := parseEvent
			if channel == store.RoutesChannel {
				parse = parseRoutesEvent
			}
			if e, ok := parse(payload); ok {
				n.publish(e)
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		// One warning per outage; the retries below it are debug noise.
		level := hclog.Debug
		if n.failures == 0 {
			level, backoff = hclog.Warn, 100*time.Millisecond
		}
		n.failures++
		n.log.Log(level, "change listener lost its database connection; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxListenBackoff)
	}
	return nil
}

// maxListenBackoff caps the listener's reconnect interval.
const maxListenBackoff = time.Second

// listening runs each time the listener (re)connects.
func (n *notifier) listening() {
	n.readyO.Do(func() { close(n.ready) })
	if n.failures > 0 {
		n.log.Info("change listener reconnected", "attempts", n.failures)
		n.failures = 0
	}
	n.publish(event{Resync: true}) // anything may have happened while not listening
}
