package wire

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/certstore"
	"github.com/riseplatform/rise/server/domains"
	"github.com/riseplatform/rise/server/edge"
	"github.com/riseplatform/rise/server/edgetls"
	"github.com/riseplatform/rise/server/store"
)

// newDomains builds the custom domains API from the domains block.
func newDomains(cfg *config.Server, st *store.Store, log hclog.Logger) (*domains.Service, error) {
	dc := cfg.Domains
	if dc == nil {
		dc = &config.Domains{}
	}
	own := publicHost(cfg.PublicURL)
	target := dc.Target
	if target == "" {
		target = own
	}
	svc, err := domains.New(domains.Options{
		Store:   st,
		Rules:   domains.Rules{AppsDomain: cfg.Domain, OwnHost: own},
		Checker: domains.NewChecker(dc.Resolver, target, dc.Addresses),
		Scheme:  cfg.AppScheme,
		Limit:   dc.Limit,
		Log:     log.Named("domains"),
	})
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	return svc, nil
}

// newTLS builds the HTTPS side from the tls block (nil without one).
// Certificates may be obtained for rise's own host, app hosts of existing
// projects and verified custom domains: the edge's route table decides.
func newTLS(ctx context.Context, cfg *config.Server, st *store.Store, router *edge.Handler, log hclog.Logger) (*edgetls.Manager, error) {
	if cfg.TLS == nil {
		return nil, nil
	}
	m, err := edgetls.New(ctx, edgetls.Options{
		TLS:     cfg.TLS,
		Storage: certstore.New(st.Pool(), certstore.Options{}),
		Allow:   router.CertificateAllowed,
		Listen:  cfg.Listen,
		Log:     log.Named("tls"),
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// tlsDeps adds m (when set) to deps: HTTPS on the main listener, and its
// maintenance among the controllers.
func tlsDeps(deps server.Deps, m *edgetls.Manager) server.Deps {
	if m != nil {
		deps.TLS = m
		deps.Controllers = append(deps.Controllers, m)
	}
	return deps
}

func publicHost(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
