package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenAudience is the aud of every rise-issued token.
const TokenAudience = "rise"

// tokenClaims are the claims of a rise token.
type tokenClaims struct {
	jwt.Claims
	Email string `json:"email"`
	Name  string `json:"name"`
	Admin bool   `json:"admin,omitempty"`
}

// errInvalidToken is what every rejected credential becomes for the caller;
// the reason is only logged.
var errInvalidToken = errors.New("invalid or expired token")

// issue signs a rise token for a user.
func (s *Service) issue(u *userInfo) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(s.ttl)
	sig, err := jose.NewSigner(
		jose.SigningKey{Algorithm: s.key.alg, Key: jose.JSONWebKey{Key: s.key.priv, KeyID: s.key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: signer: %w", err)
	}
	c := tokenClaims{
		Claims: jwt.Claims{
			Issuer:    s.issuer,
			Subject:   u.ID,
			Audience:  jwt.Audience{TokenAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(exp),
			ID:        randomString(16),
		},
		Email: u.Email,
		Name:  u.Name,
		Admin: u.Admin,
	}
	tok, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return tok, exp, nil
}

// verifyRiseToken checks a rise token's signature (only the server's own
// algorithm and key id), issuer, audience, expiry and not-before. The
// returned error is for logs; callers answer errInvalidToken.
func (s *Service) verifyRiseToken(raw string) (*tokenClaims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{s.key.alg})
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("token must have exactly one signature")
	}
	if kid := tok.Headers[0].KeyID; kid != s.key.kid {
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	var c tokenClaims
	if err := tok.Claims(s.key.priv.Public(), &c); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if err := c.Claims.ValidateWithLeeway(jwt.Expected{
		Issuer:      s.issuer,
		AnyAudience: jwt.Audience{TokenAudience},
		Time:        s.now(),
	}, 30*time.Second); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	// Exactly "rise": tickets and app session tokens (audiences
	// "rise-ticket:<host>", "rise-app:<host>") are signed by the same key
	// and must never pass as API tokens, not even with "rise" added.
	if len(c.Audience) != 1 || c.Audience[0] != TokenAudience {
		return nil, fmt.Errorf("audience %v, want exactly %q", []string(c.Audience), TokenAudience)
	}
	if c.Expiry == nil || c.IssuedAt == nil || c.Subject == "" || c.ID == "" {
		return nil, errors.New("token lacks exp, iat, sub or jti")
	}
	return &c, nil
}

// unverifiedIssuer reads a JWT's iss without verifying anything, only to
// route it to the right verifier.
func unverifiedIssuer(raw string) (string, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{
		jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
	})
	if err != nil {
		return "", fmt.Errorf("parse: %w", err)
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	return c.Issuer, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
