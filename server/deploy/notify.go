package deploy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgxpool"
)

// notifyChannel is the LISTEN channel the 0003 triggers notify.
const notifyChannel = "rise_deployments"

// event is one change notification: a deployment (Deployment, Project set)
// or a project (Project set), or Resync after the listener reconnected
// (events may have been missed).
type event struct {
	Deployment, Project string // uuids
	Resync              bool
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
	pool *pgxpool.Pool
	log  hclog.Logger

	mu     sync.Mutex
	subs   map[int]func(event)
	next   int
	ready  chan struct{}
	readyO sync.Once
}

func newNotifier(pool *pgxpool.Pool, log hclog.Logger) *notifier {
	return &notifier{pool: pool, log: log, subs: map[int]func(event){}, ready: make(chan struct{})}
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

// Run listens until ctx ends, reconnecting with backoff.
func (n *notifier) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := n.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		n.log.Warn("change listener lost its database connection; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	return nil
}

func (n *notifier) listen(ctx context.Context) error {
	pc, err := n.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	// The connection carries LISTEN state; never hand it back to the pool.
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	n.readyO.Do(func() { close(n.ready) })
	n.publish(event{Resync: true}) // anything may have happened while not listening
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		if e, ok := parseEvent(note.Payload); ok {
			n.publish(e)
		}
	}
}
