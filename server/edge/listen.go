package edge

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/server/store"
)

// Run keeps the table current until ctx ends: it listens for change
// notifications on its own connection (reconnecting with backoff, and
// reloading everything after a reconnect since notifications may have
// been missed) and reloads everything every resync period as a safety net.
// Errors never end it: the table keeps its last state (fail static).
func (t *Table) Run(ctx context.Context) error {
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go t.resyncLoop(rctx)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := t.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		t.setStale(err)
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (t *Table) resyncLoop(ctx context.Context) {
	tick := time.NewTicker(t.resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.setStale(t.resyncCtx(ctx))
		}
	}
}

func (t *Table) resyncCtx(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return t.Resync(ctx)
}

// setStale records whether the last attempt to reach the database failed,
// logging the changes.
func (t *Table) setStale(err error) {
	t.metrics.SetFailStatic(err != nil)
	if err != nil {
		if !t.stale.Swap(true) {
			t.log.Error("edge: database unreachable; serving the last known routes and sessions (fail static)",
				"error", err, "last_sync", time.Unix(0, t.lastSync.Load()).UTC().Format(time.RFC3339), "projects", t.Stats().Projects)
		}
		return
	}
	if t.stale.Swap(false) {
		t.log.Info("edge: database reachable again; routes reloaded", "projects", t.Stats().Projects)
	}
}

// listen holds one LISTEN connection until it fails.
func (t *Table) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, t.pool.Config().ConnConfig.Copy())
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+store.RoutesChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Anything may have changed while not listening.
	if err := t.resyncCtx(ctx); err != nil {
		return err
	}
	t.setStale(nil)
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		if err := t.apply(ctx, note.Payload); err != nil {
			return err
		}
	}
}

// apply reloads what a notification names.
func (t *Table) apply(ctx context.Context, payload string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kind, id, _ := strings.Cut(payload, ":")
	switch {
	case id == "":
	case kind == "p":
		return t.reloadProject(ctx, id)
	case kind == "t":
		return t.reloadTeam(ctx, id)
	case kind == "d":
		return t.reloadDomains(ctx, id)
	}
	t.log.Debug("edge: ignoring an unknown route notification", "payload", payload)
	return nil
}
