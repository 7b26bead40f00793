package docker

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riseplatform/rise/sdk"
)

// credentialsAudience is the audience of the signed passwords Credentials
// hands out. It differs from the registry's service so that a password is
// never accepted by the registry as a bearer token, and vice versa.
const credentialsAudience = "rise-registry-credentials"

// grantClaims are the private claims of a credentials password.
type grantClaims struct {
	jwt.Claims
	Username   string   `json:"usr"`
	Repository string   `json:"repo"`
	Actions    []string `json:"actions"`
}

// Credentials returns a username and a short-lived signed password granting
// push+pull (req.Push) or pull on exactly <namespace>/<project>.
func (r *Registry) Credentials(ctx context.Context, req *sdk.CredentialsRequest) (*sdk.Credentials, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.key == nil {
		return nil, fmt.Errorf("registry: not provisioned")
	}
	if !projectRE.MatchString(req.Project) {
		return nil, sdk.Permanent(fmt.Errorf("registry: %q is not a valid project name for a repository", req.Project))
	}
	ttl := r.ttl
	if req.TTL > 0 && req.TTL < ttl {
		ttl = req.TTL
	}
	now := r.clock()
	actions := []string{"pull"}
	if req.Push {
		actions = []string{"pull", "push"}
	}
	username := "rise-" + req.Project
	subject := req.Subject
	if subject == "" {
		subject = username
	}
	claims := grantClaims{
		Claims: jwt.Claims{
			Issuer:    r.Issuer,
			Subject:   subject,
			Audience:  jwt.Audience{credentialsAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
			ID:        newID(),
		},
		Username:   username,
		Repository: r.Repository(req.Project),
		Actions:    actions,
	}
	password, err := r.sign(claims, "rise-registry-credentials+jwt", false)
	if err != nil {
		return nil, err
	}
	return &sdk.Credentials{
		Registry:   r.URL,
		Repository: r.URL + "/" + claims.Repository,
		Username:   username,
		Password:   password,
		ExpiresAt:  now.Add(ttl).Truncate(time.Second),
	}, nil
}

// sign signs claims with the registry key. With x5c the certificate chain is
// put in the header, which is how distribution finds the verification key.
func (r *Registry) sign(claims any, typ string, x5c bool) (string, error) {
	alg := jose.ES256
	if _, ok := r.key.Public().(*rsa.PublicKey); ok {
		alg = jose.RS256
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if x5c {
		opts = opts.WithHeader("x5c", []string{encodeStd(r.cert.Raw)})
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: r.key}, opts)
	if err != nil {
		return "", fmt.Errorf("registry: signer: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("registry: sign token: %w", err)
	}
	return tok, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
