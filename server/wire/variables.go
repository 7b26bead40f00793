package wire

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/keyring"
	"github.com/riseplatform/rise/server/store"
	"github.com/riseplatform/rise/server/variables"
)

// Variables builds the project variables service from the encryption block
// and checks, before the server starts, that the configured keys open the
// values in the database (it refuses values and no key, or a wrong key).
func Variables(ctx context.Context, cfg *config.Server, st *store.Store, log hclog.Logger, auditor variables.Auditor) (*variables.Service, error) {
	kr, err := keyring.FromConfig(ctx, cfg.Encryption)
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	svc, err := variables.New(variables.Options{Store: st, Keyring: kr, Audit: auditor, Log: log.Named("variables")})
	if err != nil {
		return nil, err
	}
	if err := svc.CheckKeys(ctx); err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	if kr == nil {
		log.Warn("no encryption block: project variables cannot be stored (docs/secrets.md)")
	}
	return svc, nil
}

// RotateKeys is `rise server rotate-keys`: it re-wraps every data key with
// the current key of the encryption block.
func RotateKeys(ctx context.Context, cfg *config.Server, st *store.Store, log hclog.Logger) (int, error) {
	if cfg.Encryption == nil {
		return 0, fmt.Errorf("%s has no encryption block: nothing to rotate to", cfg.Filename)
	}
	svc, err := Variables(ctx, cfg, st, log, nil)
	if err != nil {
		return 0, err
	}
	return svc.RotateKeys(ctx)
}
