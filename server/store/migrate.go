package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/hashicorp/go-hclog"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for golang-migrate

	"github.com/riseplatform/rise/migrations"
)

// Migrate brings the database at url to the newest embedded schema version.
// Concurrent callers (several server replicas) serialise on a PostgreSQL
// advisory lock. A dirty database (a migration that failed half-way) or a
// database newer than this binary is an error with instructions.
func Migrate(ctx context.Context, url string, log hclog.Logger) error {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return withMigrate(ctx, url, log, func(m *migrate.Migrate) error {
		latest, err := LatestVersion()
		if err != nil {
			return err
		}
		cur, dirty, err := m.Version()
		switch {
		case errors.Is(err, migrate.ErrNilVersion):
			cur = 0
		case err != nil:
			return fmt.Errorf("read schema version: %w", err)
		}
		if dirty {
			return dirtyError(cur)
		}
		if cur > latest {
			return fmt.Errorf("database schema version %d is newer than this rise binary knows (%d): upgrade rise, or point it at the right database", cur, latest)
		}
		if cur == latest {
			log.Debug("database schema is up to date", "version", cur)
			return nil
		}
		log.Info("migrating database schema", "from", cur, "to", latest)
		if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			if v, d, verr := m.Version(); verr == nil && d {
				return fmt.Errorf("%w\n%w", err, dirtyError(v))
			}
			return fmt.Errorf("apply migrations: %w", err)
		}
		log.Info("database schema migrated", "version", latest)
		return nil
	})
}

// ForceVersion records version as the schema version and clears the dirty
// flag, without running any migration. It is the operator's way out after
// fixing a failed migration by hand (`rise server migrate --force N`).
func ForceVersion(ctx context.Context, url string, version int, log hclog.Logger) error {
	return withMigrate(ctx, url, log, func(m *migrate.Migrate) error {
		if err := m.Force(version); err != nil {
			return fmt.Errorf("force schema version %d: %w", version, err)
		}
		return nil
	})
}

// SchemaVersion reports the database's schema version and dirty flag
// (0 when no migration ran yet).
func SchemaVersion(ctx context.Context, url string, log hclog.Logger) (version uint, dirty bool, err error) {
	err = withMigrate(ctx, url, log, func(m *migrate.Migrate) error {
		v, d, verr := m.Version()
		if errors.Is(verr, migrate.ErrNilVersion) {
			return nil
		}
		version, dirty = v, d
		return verr
	})
	return version, dirty, err
}

// LatestVersion is the highest migration version embedded in this binary.
func LatestVersion() (uint, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return 0, fmt.Errorf("read embedded migrations: %w", err)
	}
	var latest uint
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".up.sql") {
			continue
		}
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("embedded migration %s: bad version number", e.Name())
		}
		latest = max(latest, uint(v))
	}
	return latest, nil
}

func dirtyError(version uint) error {
	return fmt.Errorf("database schema is dirty at version %d: a migration failed half-way and rise will not start on a "+
		"half-migrated database. Inspect the database and finish or undo migration %d by hand (the SQL is in "+
		"migrations/%04d_*.up.sql), then run `rise server migrate --force %d` if it is now fully applied, or "+
		"`rise server migrate --force %d` if you undid it, and start the server again",
		version, version, version, version, int(version)-1)
}

func withMigrate(ctx context.Context, url string, log hclog.Logger, fn func(*migrate.Migrate) error) error {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return fmt.Errorf("open database: %w", redact(err))
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return fmt.Errorf("read embedded migrations: %w", err)
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		_ = src.Close()
		return fmt.Errorf("prepare migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		_ = src.Close()
		_ = drv.Close()
		return fmt.Errorf("prepare migrations: %w", err)
	}
	defer m.Close()
	m.Log = migrateLogger{log}
	stop := context.AfterFunc(ctx, func() {
		select {
		case m.GracefulStop <- true:
		default:
		}
	})
	defer stop()
	return fn(m)
}

type migrateLogger struct{ log hclog.Logger }

func (l migrateLogger) Printf(format string, v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (l migrateLogger) Verbose() bool { return l.log.IsDebug() }
