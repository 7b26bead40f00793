// Package store is rise's PostgreSQL persistence: a pgx pool, the embedded
// schema migrations and the queries for users, teams and projects, including
// the authorization rule for projects (ProjectFor).
//
// Every multi-step change runs in one transaction (Tx); invariants (unique
// names, one owner per project, valid statuses) are database constraints, so
// concurrent requests cannot break them.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors returned by the store. Handlers map them to HTTP statuses.
var (
	// ErrNotFound: the row does not exist, or the caller may not see it.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint or a referencing row prevents the change.
	ErrConflict = errors.New("conflict")
	// ErrDeleting: the project is being deleted; it can be read but not changed or deployed.
	ErrDeleting = errors.New("project is being deleted")
)

// Store is the database handle. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  hclog.Logger
}

// Open applies the embedded migrations to the database at url and returns a
// Store with a connection pool. A dirty or failed migration stops here with an
// error telling the operator what to do.
func Open(ctx context.Context, url string, log hclog.Logger) (*Store, error) {
	return OpenWith(ctx, Options{URL: url}, log)
}

// Options tune OpenWith.
type Options struct {
	URL      string
	MaxConns int // 0 = DefaultMaxConns
}

// DefaultMaxConns is the pool size when Options.MaxConns is 0.
const DefaultMaxConns = 10

// DefaultConnectTimeout bounds opening a database connection when the URL
// sets no connect_timeout.
const DefaultConnectTimeout = 5 * time.Second

// OpenWith is Open with pool options.
func OpenWith(ctx context.Context, o Options, log hclog.Logger) (*Store, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	log = log.Named("store")
	if o.URL == "" {
		return nil, errors.New("no database URL configured (set database { url = ... } in the server config)")
	}
	if err := Migrate(ctx, o.URL, log); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", redact(err))
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	cfg.MaxConns = int32(o.MaxConns)
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A database that does not answer fails requests (503) instead of
		// holding them; connect_timeout in the URL overrides this.
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return &Store{pool: pool, log: log}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Pool is the underlying pgx pool, for packages that own their own tables.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Tx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise.
func (s *Store) Tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// pgCode returns the PostgreSQL error code of err, or "".
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
)

// redact drops a parse error's text, which may echo the URL with its password.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string (check database.url)")
	}
	return err
}

// RoutesChannel is the LISTEN channel of migration 0008's triggers (the
// edge's route table and the deployment controller listen on it):
// payload "p:<project uuid>" when a project's routing or ownership changed
// (visibility, owner, status, name, deletion, its active deployments or
// their upstreams), "t:<team uuid>" when a team's members changed, and
// "d:<project uuid>" when a project's verified domains changed (0011).
const RoutesChannel = "rise_routes"
