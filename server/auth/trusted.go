package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/riseplatform/rise/core/config"
)

// trustedAlgs are the only algorithms accepted from trusted issuers
// (asymmetric: no "none", no HMAC key confusion).
var trustedAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// discoveryRetry is how long a failed discovery is remembered before retrying.
const discoveryRetry = 10 * time.Second

// trustedIssuer is a configured trusted_issuer: JWTs it mints are verified
// against its discovery document and JWKS, fetched through an SSRF-guarded
// client.
type trustedIssuer struct {
	cfg    *config.TrustedIssuer
	client *http.Client

	mu      sync.Mutex
	op      *oidc.Provider
	lastErr error
	errAt   time.Time
}

func newTrustedIssuer(c *config.TrustedIssuer) (*trustedIssuer, error) {
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("auth: trusted_issuer %q: issuer %q must be an absolute https URL", c.Name, c.Issuer)
	}
	if u.Scheme != "https" && !c.AllowPrivateNetwork {
		return nil, fmt.Errorf("auth: trusted_issuer %q: issuer must use https (http is only allowed with allow_private_network = true)", c.Name)
	}
	if c.Audience == "" {
		return nil, fmt.Errorf("auth: trusted_issuer %q: audience is required", c.Name)
	}
	return &trustedIssuer{cfg: c, client: guardedClient(c.AllowPrivateNetwork)}, nil
}

// provider discovers the issuer (cached; failures are retried after
// discoveryRetry). go-oidc refuses a discovery document whose issuer
// differs from the configured one.
func (t *trustedIssuer) provider(ctx context.Context, now time.Time) (*oidc.Provider, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.op != nil {
		return t.op, nil
	}
	if t.lastErr != nil && now.Sub(t.errAt) < discoveryRetry {
		return nil, t.lastErr
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), t.client), 15*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, t.cfg.Issuer)
	if err != nil {
		t.lastErr, t.errAt = fmt.Errorf("trusted issuer %q discovery: %w", t.cfg.Name, err), now
		return nil, t.lastErr
	}
	t.op, t.lastErr = op, nil
	return op, nil
}

// verify checks a JWT's signature (JWKS), issuer, audience and expiry.
func (t *trustedIssuer) verify(ctx context.Context, raw string, now func() time.Time) (*oidc.IDToken, error) {
	op, err := t.provider(ctx, now())
	if err != nil {
		return nil, err
	}
	v := op.Verifier(&oidc.Config{ClientID: t.cfg.Audience, SupportedSigningAlgs: trustedAlgs, Now: now})
	return v.Verify(oidc.ClientContext(ctx, t.client), raw)
}
