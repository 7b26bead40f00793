// Package certstore is certmagic's Storage in rise's PostgreSQL: the
// certificates, private keys and ACME account data the edge's TLS manager
// obtains live in the certmagic_data table (migration 0011), so every rise
// replica serves the same certificates and a restart does not re-issue.
//
// Locks (certmagic takes one around each issuance and renewal) are rows of
// certmagic_locks with a lease: a holder that crashes loses the lock when its
// lease runs out, a live holder's lease is extended by certmagic
// (LockLeaseRenewer) and by Storage itself while the lock is held.
package certstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults of Options.
const (
	DefaultLease = time.Minute
	DefaultPoll  = 250 * time.Millisecond
)

// Options tune a Storage.
type Options struct {
	// Lease is how long a lock is held without being extended (default
	// DefaultLease); the holder extends it every Lease/3.
	Lease time.Duration
	// Poll is how often a blocked Lock tries again (default DefaultPoll).
	Poll time.Duration
}

// Storage implements certmagic.Storage (and its TryLocker and
// LockLeaseRenewer extensions) on PostgreSQL.
type Storage struct {
	pool   *pgxpool.Pool
	holder string // this process's lock holder id
	lease  time.Duration
	poll   time.Duration

	mu    sync.Mutex
	keeps map[string]context.CancelFunc // held locks → their lease keeper
}

var (
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.TryLocker        = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
)

// New returns a Storage on pool.
func New(pool *pgxpool.Pool, o Options) *Storage {
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Storage{pool: pool, holder: hex.EncodeToString(b), lease: o.Lease, poll: o.Poll, keeps: map[string]context.CancelFunc{}}
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "PostgreSQL (certmagic_data)" }

// Store puts value at key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO certmagic_data (key, value, modified) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, modified = now()`, key, value)
	if err != nil {
		return fmt.Errorf("certstore: store %s: %w", key, err)
	}
	return nil
}

// Load returns the value at key, or an error wrapping fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM certmagic_data WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("certstore: %s: %w", key, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("certstore: load %s: %w", key, err)
	}
	return v, nil
}

// Delete removes key and, when key is a directory, everything under it.
func (s *Storage) Delete(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM certmagic_data WHERE key = $1 OR starts_with(key, $2)`, key, dirPrefix(key))
	if err != nil {
		return fmt.Errorf("certstore: delete %s: %w", key, err)
	}
	return nil
}

// Exists reports whether key is a stored value or a directory of them.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM certmagic_data WHERE key = $1 OR starts_with(key, $2))`,
		key, dirPrefix(key)).Scan(&ok)
	return err == nil && ok
}

// List returns the keys under dir: its direct children (values and
// directories), or with recursive every value and directory below it.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT key FROM certmagic_data WHERE starts_with(key, $1)`, dirPrefix(dir))
	if err != nil {
		return nil, fmt.Errorf("certstore: list %s: %w", dir, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("certstore: list %s: %w", dir, err)
	}
	seen := map[string]bool{}
	prefix := dirPrefix(dir)
	for _, k := range keys {
		parts := strings.Split(strings.TrimPrefix(k, prefix), "/")
		if !recursive {
			parts = parts[:1]
		}
		for i := range parts {
			seen[path.Join(dir, path.Join(parts[:i+1]...))] = true
		}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("certstore: list %s: %w", dir, fs.ErrNotExist)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// Stat describes key.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	var size int64
	var mod time.Time
	err := s.pool.QueryRow(ctx, `SELECT length(value), modified FROM certmagic_data WHERE key = $1`, key).Scan(&size, &mod)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: size, IsTerminal: true}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return certmagic.KeyInfo{}, fmt.Errorf("certstore: stat %s: %w", key, err)
	}
	if s.Exists(ctx, key) {
		return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
	}
	return certmagic.KeyInfo{}, fmt.Errorf("certstore: %s: %w", key, fs.ErrNotExist)
}

func dirPrefix(key string) string { return strings.TrimSuffix(key, "/") + "/" }

// Lock takes the named lock, waiting while another holder (in this or
// another replica) has it and its lease has not run out.
func (s *Storage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("certstore: lock %s: %w", name, ctx.Err())
		case <-time.After(s.poll):
		}
	}
}

// TryLock takes the named lock if it is free or its lease ran out.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO certmagic_locks (key, holder, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE certmagic_locks.expires_at < now()`, name, s.holder, s.lease.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("certstore: lock %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	s.keep(name)
	return true, nil
}

// keep extends a held lock's lease until Unlock.
func (s *Storage) keep(name string) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if old := s.keeps[name]; old != nil {
		old()
	}
	s.keeps[name] = cancel
	s.mu.Unlock()
	go func() {
		t := time.NewTicker(s.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = s.RenewLockLease(ctx, name, s.lease)
			}
		}
	}()
}

// RenewLockLease extends this holder's lock on name by lease.
func (s *Storage) RenewLockLease(ctx context.Context, name string, lease time.Duration) error {
	tag, err := s.pool.Exec(ctx, `UPDATE certmagic_locks SET expires_at = now() + $3 * interval '1 millisecond'
		WHERE key = $1 AND holder = $2`, name, s.holder, lease.Milliseconds())
	if err != nil {
		return fmt.Errorf("certstore: renew lock %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("certstore: renew lock %s: not held", name)
	}
	return nil
}

// Unlock releases this holder's lock on name.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	if cancel := s.keeps[name]; cancel != nil {
		cancel()
		delete(s.keeps, name)
	}
	s.mu.Unlock()
	if _, err := s.pool.Exec(ctx, `DELETE FROM certmagic_locks WHERE key = $1 AND holder = $2`, name, s.holder); err != nil {
		return fmt.Errorf("certstore: unlock %s: %w", name, err)
	}
	return nil
}
