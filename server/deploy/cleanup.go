package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/store"
)

// cleanupProject finishes deleting a project: stop every deployment through
// the runtime (and Destroy when supported), clean up the registry, remove
// the row (deployments cascade). Any failure retries later; each step is
// idempotent.
func (c *Controller) cleanupProject(ctx context.Context, projectID string) (time.Duration, error) {
	name, deleting, err := c.repo.DeletingProject(ctx, projectID)
	if err != nil || !deleting {
		return 0, err
	}
	log := c.log.With("project", name)
	rows, err := c.repo.WithHandles(ctx, projectID)
	if err != nil {
		return 0, err
	}
	rt, err := c.o.runtime(ctx)
	if err != nil && len(rows) > 0 {
		return 0, err
	}
	for _, d := range rows {
		if err := rt.Stop(ctx, d.handle(), logUI{log: log}); err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return 0, fmt.Errorf("stop %s/%s: %w", name, d.ID, err)
		}
	}
	if rt != nil {
		if ds, ok := rt.(sdk.Destroyer); ok {
			if err := ds.Destroy(ctx, name, logUI{log: log}); err != nil && !errors.Is(err, sdk.ErrUnsupported) {
				return 0, fmt.Errorf("destroy runtime resources of %s: %w", name, err)
			}
		}
	}
	if c.o.CleanupProject != nil {
		if err := c.o.CleanupProject(ctx, name); err != nil && !errors.Is(err, sdk.ErrUnsupported) {
			return 0, fmt.Errorf("clean up registry of %s: %w", name, err)
		}
	}
	if err := c.o.Store.PurgeProject(ctx, projectID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	log.Info("project deleted")
	return 0, nil
}
