package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// leaseName is the deployments controller's row in controller_leases.
const leaseName = "deployments"

// acquireLease takes or renews the lease for holder; it reports whether
// holder holds it now (until now+ttl).
func acquireLease(ctx context.Context, pool *pgxpool.Pool, name, holder string, ttl time.Duration) (bool, error) {
	var got string
	err := pool.QueryRow(ctx, `INSERT INTO controller_leases (name, holder, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, updated_at = now()
		WHERE controller_leases.holder = EXCLUDED.holder OR controller_leases.expires_at < now()
		RETURNING holder`, name, holder, ttl.Milliseconds()).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return got == holder, nil
}

// releaseLease gives the lease up (on clean shutdown) so another replica
// takes over at once.
func releaseLease(ctx context.Context, pool *pgxpool.Pool, name, holder string) error {
	_, err := pool.Exec(ctx, `DELETE FROM controller_leases WHERE name = $1 AND holder = $2`, name, holder)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}
