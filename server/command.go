package server

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/store"
)

// CommandOptions wire `rise server` to the rest of the binary (cmd/rise).
type CommandOptions struct {
	Version, Commit string
	// LoadConfig reads server.hcl. Default: config.LoadServer, with errors
	// rendered by config.FormatDiagnostics and warnings printed to Stderr.
	LoadConfig func(path string) (*config.Server, error)
	// Wire builds the parts other packages provide — authenticator, API
	// mounts, controllers (which may start plugins) — once the store is
	// open. The returned close func runs after the server stopped. Deps.Store,
	// Log, Version and Commit are filled in by the command.
	Wire func(ctx context.Context, cfg *config.Server, st *store.Store, log hclog.Logger) (Deps, func(), error)
	// Check validates what config loading cannot (plugins: start, fingerprint,
	// validate their config blocks) for `rise server check`. Optional.
	Check func(ctx context.Context, cfg *config.Server, log hclog.Logger) error
	// RotateKeys re-wraps every data key with the encryption block's
	// current key for `rise server rotate-keys`; it returns how many.
	RotateKeys func(ctx context.Context, cfg *config.Server, st *store.Store, log hclog.Logger) (int, error)
	// Stderr receives logs and messages (default os.Stderr).
	Stderr io.Writer
}

// NewCommand returns `rise server` with its subcommands `migrate` and `check`.
func NewCommand(opts CommandOptions) *cobra.Command {
	var configPath, logLevel string
	var logJSON bool
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the rise API server and its controllers",
		Long: `Run the rise API server (REST under /api/v1) and its controllers in one process.

The database schema is migrated on start. SIGINT/SIGTERM stop the server
gracefully: in-flight requests finish, controllers stop.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(opts, logLevel, logJSON)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(opts, configPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServer(ctx, opts, cfg, log)
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&configPath, "config", "c", envOr("RISE_SERVER_CONFIG", "server.hcl"), "server config file (env RISE_SERVER_CONFIG)")
	pf.StringVar(&logLevel, "log-level", envOr("RISE_LOG_LEVEL", "info"), "log level: trace, debug, info, warn, error")
	pf.BoolVar(&logJSON, "log-json", false, "log as JSON lines")

	var force int
	var status bool
	migrateCmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Long: `Apply the database migrations embedded in this binary and exit.

After a migration failed half-way, the schema is marked dirty and the server
refuses to start. Fix the database by hand, then record the version it is
really at with --force VERSION.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(opts, logLevel, logJSON)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(opts, configPath)
			if err != nil {
				return err
			}
			url := databaseURL(cfg)
			ctx := cmd.Context()
			switch {
			case status:
				v, dirty, err := store.SchemaVersion(ctx, url, log)
				if err != nil {
					return err
				}
				latest, _ := store.LatestVersion()
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "version %d (dirty: %t), this binary's latest: %d\n", v, dirty, latest)
				return err
			case cmd.Flags().Changed("force"):
				if err := store.ForceVersion(ctx, url, force, log); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Schema version set to %d; run `rise server migrate` to apply the rest.\n", force)
				return nil
			}
			if err := store.Migrate(ctx, url, log); err != nil {
				return err
			}
			latest, _ := store.LatestVersion()
			fmt.Fprintf(cmd.ErrOrStderr(), "Database schema is at version %d.\n", latest)
			return nil
		},
	}
	migrateCmd.Flags().IntVar(&force, "force", 0, "set the recorded schema version (clearing the dirty flag) without running migrations")
	migrateCmd.Flags().BoolVar(&status, "status", false, "print the schema version and exit")

	checkCmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the server configuration and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := logLevel
			if !cmd.Flags().Changed("log-level") && os.Getenv("RISE_LOG_LEVEL") == "" {
				level = "warn" // a check prints its verdict, not the plugins' lifecycle
			}
			log, err := newLogger(opts, level, logJSON)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(opts, configPath)
			if err != nil {
				return err
			}
			if databaseURL(cfg) == "" {
				return fmt.Errorf("%s: no database configured: add database { url = env(\"DATABASE_URL\") }", cfg.Filename)
			}
			if opts.Check != nil {
				if err := opts.Check(cmd.Context(), cfg, log); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s is valid.\n", configPath)
			return nil
		},
	}
	rotateCmd := &cobra.Command{
		Use:   "rotate-keys",
		Short: "Re-wrap every stored data key with the current encryption key",
		Long: `Re-wrap the data key of every stored variable value with the current key of
the encryption block (key / key_id). Values themselves are not re-encrypted.
Run it after making a new key current and listing the old one in old_keys
(old_key_ids for aws-kms); once it finished, the old key may be removed.
It is safe to run while servers are up and to run again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(opts, logLevel, logJSON)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(opts, configPath)
			if err != nil {
				return err
			}
			if opts.RotateKeys == nil {
				return fmt.Errorf("this binary cannot rotate keys")
			}
			st, err := store.OpenWith(cmd.Context(), store.Options{URL: databaseURL(cfg), MaxConns: maxConns(cfg)}, log)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := opts.RotateKeys(cmd.Context(), cfg, st, log)
			if err != nil {
				return fmt.Errorf("rotate keys (%d re-wrapped before the error): %w", n, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Re-wrapped %d data keys; every value is now under the current key.\n", n)
			return nil
		},
	}
	cmd.AddCommand(migrateCmd, checkCmd, rotateCmd)
	return cmd
}

func runServer(ctx context.Context, opts CommandOptions, cfg *config.Server, log hclog.Logger) error {
	st, err := store.OpenWith(ctx, store.Options{URL: databaseURL(cfg), MaxConns: maxConns(cfg)}, log)
	if err != nil {
		return err
	}
	defer st.Close()
	deps := Deps{}
	if opts.Wire != nil {
		var closeFn func()
		deps, closeFn, err = opts.Wire(ctx, cfg, st, log)
		if err != nil {
			return err
		}
		if closeFn != nil {
			defer closeFn()
		}
	} else {
		log.Warn("no authenticator wired: every request is anonymous")
	}
	deps.Store, deps.Log, deps.Version, deps.Commit = st, log, opts.Version, opts.Commit
	srv, err := New(cfg, deps)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

func loadConfig(opts CommandOptions, path string) (*config.Server, error) {
	load := opts.LoadConfig
	if load == nil {
		load = func(path string) (*config.Server, error) { return loadServerConfig(path, stderr(opts)) }
	}
	cfg, err := load(path)
	if err != nil {
		return nil, err
	}
	if cfg.Filename == "" {
		cfg.Filename = path
	}
	return cfg, nil
}

// loadServerConfig is the default config loader.
func loadServerConfig(path string, warn io.Writer) (*config.Server, error) {
	cfg, diags := config.LoadServer(path)
	if diags.HasErrors() {
		return nil, fmt.Errorf("invalid server config:\n%s", config.FormatDiagnostics(diags, nil))
	}
	if len(diags) > 0 {
		fmt.Fprint(warn, config.FormatDiagnostics(diags, nil))
	}
	return cfg, nil
}

func stderr(opts CommandOptions) io.Writer {
	if opts.Stderr != nil {
		return opts.Stderr
	}
	return os.Stderr
}

func databaseURL(cfg *config.Server) string {
	if cfg.Database == nil {
		return ""
	}
	return cfg.Database.URL
}

func maxConns(cfg *config.Server) int {
	if cfg.Database == nil {
		return 0
	}
	return cfg.Database.MaxConns
}

func newLogger(opts CommandOptions, level string, json bool) (hclog.Logger, error) {
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		return nil, fmt.Errorf("unknown log level %q: use trace, debug, info, warn or error", level)
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "rise",
		Level:      lvl,
		Output:     stderr(opts),
		JSONFormat: json,
	}), nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
