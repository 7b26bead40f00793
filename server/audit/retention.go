package audit

import (
	"context"
	"fmt"
	"time"
)

// Name names the retention controller in the server's logs.
func (rc *Recorder) Name() string { return "audit-retention" }

// Run deletes events older than the retention every PruneEvery until ctx
// ends (a server controller). With a negative retention it only waits.
// Replicas may all run it: deleting is idempotent.
func (rc *Recorder) Run(ctx context.Context) error {
	t := time.NewTicker(rc.o.PruneEvery)
	defer t.Stop()
	for {
		if rc.o.Retention > 0 {
			n, err := rc.Prune(ctx, time.Now().Add(-rc.o.Retention))
			switch {
			case err != nil && ctx.Err() == nil:
				rc.log.Error("could not prune the audit log", "error", err)
			case n > 0:
				rc.log.Info("pruned the audit log", "deleted", n, "retention", rc.o.Retention)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Prune deletes events older than cutoff, in batches so no statement holds
// locks for long, and returns how many it deleted.
func (rc *Recorder) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		tag, err := rc.st.Pool().Exec(ctx, `DELETE FROM audit_events WHERE id IN
			(SELECT id FROM audit_events WHERE time < $1 LIMIT 5000)`, cutoff)
		if err != nil {
			return total, fmt.Errorf("prune audit events: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 5000 {
			return total, nil
		}
	}
}
