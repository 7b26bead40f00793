package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/store"
)

// cleanupProject finishes deleting a project: stop every deployment through
// the runtime (and Destroy when supported), clean up the registry, remove
// the row (deployments cascade). Any failure retries later; each step is
// idempotent.
func (c *Controller) cleanupProject(ctx context.Context, projectID string) (time.Duration, error) {
	var name, status string
	err := c.st.Pool().QueryRow(ctx, `SELECT name, status FROM projects WHERE id = $1`, projectID).Scan(&name, &status)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && status != store.StatusDeleting) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read project %s: %w", projectID, err)
	}
	log := c.log.With("project", name)
	rows, err := scanRows(c.st.Pool().Query(ctx, `SELECT `+rowCols+rowFrom+`
		WHERE d.project_id = $1 AND d.runtime_state IS NOT NULL
		AND d.state NOT IN ('Cancelled', 'Stopped', 'Superseded', 'Expired')`, projectID))
	if err != nil {
		return 0, err
	}
	rt, err := c.o.runtime(ctx)
	if err != nil && len(rows) > 0 {
		return 0, err
	}
	for _, d := range rows {
		if err := rt.Stop(ctx, d.handle(), logUI{log}); err != nil && !errors.Is(err, sdk.ErrNotFound) {
			return 0, fmt.Errorf("stop %s/%s: %w", name, d.ID, err)
		}
	}
	if rt != nil {
		if ds, ok := rt.(sdk.Destroyer); ok {
			if err := ds.Destroy(ctx, name, logUI{log}); err != nil && !errors.Is(err, sdk.ErrUnsupported) {
				return 0, fmt.Errorf("destroy runtime resources of %s: %w", name, err)
			}
		}
	}
	if c.o.CleanupProject != nil {
		if err := c.o.CleanupProject(ctx, name); err != nil && !errors.Is(err, sdk.ErrUnsupported) {
			return 0, fmt.Errorf("clean up registry of %s: %w", name, err)
		}
	}
	if err := c.st.PurgeProject(ctx, projectID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	log.Info("project deleted")
	return 0, nil
}
