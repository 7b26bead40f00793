package docker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riseplatform/rise/sdk"
)

// ErrBadCredentials is returned (marked permanent) by IssueToken when the
// basic-auth credentials are missing, forged, expired or not ours. The
// server's realm endpoint answers 401 for it.
var ErrBadCredentials = errors.New("invalid or expired registry credentials")

// access is one entry of a registry token's "access" claim.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// registryClaims are the claims distribution's token auth reads.
type registryClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  string           `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	Access    []access         `json:"access"`
}

// IssueToken verifies credentials minted by Credentials and returns a
// distribution bearer token granting the intersection of the requested scopes
// and the credentials' grants. A login request (no scopes) gets a token with
// no access at all.
func (r *Registry) IssueToken(ctx context.Context, req *sdk.TokenRequest) (*sdk.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.key == nil {
		return nil, fmt.Errorf("registry: not provisioned")
	}
	if req.Service != "" && req.Service != r.Service {
		return nil, sdk.Permanent(fmt.Errorf("%w: token requested for service %q, this registry is %q", ErrBadCredentials, req.Service, r.Service))
	}
	grant, err := r.verifyPassword(req.Username, req.Password)
	if err != nil {
		return nil, sdk.Permanent(err)
	}
	var granted []access
	for _, s := range req.Scopes {
		a, err := parseScope(s)
		if err != nil {
			return nil, sdk.Permanent(err)
		}
		if a.Type != "repository" || a.Name != grant.Repository {
			continue
		}
		var acts []string
		for _, act := range a.Actions {
			if slices.Contains(grant.Actions, act) && !slices.Contains(acts, act) {
				acts = append(acts, act)
			}
		}
		if len(acts) > 0 {
			granted = append(granted, access{Type: a.Type, Name: a.Name, Actions: acts})
		}
	}
	return r.registryToken(grant.Subject, granted)
}

// registryToken signs a distribution token for subject with the given access.
func (r *Registry) registryToken(subject string, granted []access) (*sdk.Token, error) {
	now := r.clock()
	if granted == nil {
		granted = []access{}
	}
	claims := registryClaims{
		Issuer:    r.Issuer,
		Subject:   subject,
		Audience:  r.Service,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-10 * time.Second)),
		Expiry:    jwt.NewNumericDate(now.Add(r.ttl)),
		ID:        newID(),
		Access:    granted,
	}
	tok, err := r.sign(claims, "JWT", true)
	if err != nil {
		return nil, err
	}
	return &sdk.Token{Token: tok, ExpiresIn: r.ttl, IssuedAt: now.UTC()}, nil
}

// verifyPassword checks a password minted by Credentials for username.
func (r *Registry) verifyPassword(username, password string) (*grantClaims, error) {
	if username == "" || password == "" {
		return nil, fmt.Errorf("%w: no credentials given (docker login first)", ErrBadCredentials)
	}
	tok, err := jwt.ParseSigned(password, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: malformed password", ErrBadCredentials)
	}
	var c grantClaims
	if err := tok.Claims(r.key.Public(), &c); err != nil {
		return nil, fmt.Errorf("%w: bad signature", ErrBadCredentials)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{
		Issuer:      r.Issuer,
		AnyAudience: jwt.Audience{credentialsAudience},
		Time:        r.clock(),
	}, 0); err != nil {
		if errors.Is(err, jwt.ErrExpired) {
			return nil, fmt.Errorf("%w: credentials expired at %s", ErrBadCredentials, c.Expiry.Time().UTC().Format(time.RFC3339))
		}
		return nil, fmt.Errorf("%w: %v", ErrBadCredentials, err)
	}
	if c.Username != username {
		return nil, fmt.Errorf("%w: password was not issued to %q", ErrBadCredentials, username)
	}
	return &c, nil
}

// parseScope parses "repository:rise/app:push,pull".
func parseScope(s string) (access, error) {
	i := strings.IndexByte(s, ':')
	j := strings.LastIndexByte(s, ':')
	if i <= 0 || j <= i {
		return access{}, fmt.Errorf("malformed scope %q (want type:name:actions)", s)
	}
	a := access{Type: s[:i], Name: s[i+1 : j]}
	for _, act := range strings.Split(s[j+1:], ",") {
		if act = strings.TrimSpace(act); act != "" {
			a.Actions = append(a.Actions, act)
		}
	}
	return a, nil
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
