package auth

import (
	"context"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/store"
)

// New builds the auth service on the server's store: it loads (or
// generates) the signing key, checks local users, discovers the OIDC
// providers that are reachable and prepares the trusted issuers.
func New(ctx context.Context, cfg *config.Auth, st *store.Store, opts Options) (*Service, error) {
	db := st.Pool()
	return newService(ctx, cfg, storeUsers{st: st}, db, opts)
}
