package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-jose/go-jose/v4"
)

// generatedKeyFile is the signing key's name inside the data dir.
const generatedKeyFile = "auth-signing-key.pem"

// signingKey is the server's token signing key.
type signingKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
	kid  string
	jwk  jose.JSONWebKey // public part, published in the JWKS
}

// loadSigningKey reads file (PEM, EC P-256 or RSA ≥ 2048) or, when file is
// empty, reads or generates an EC P-256 key persisted 0600 in dataDir.
func loadSigningKey(file, dataDir string) (*signingKey, bool, error) {
	generated := false
	if file == "" {
		if dataDir == "" {
			return nil, false, errors.New("auth: no signing_key_file configured and no data dir to keep a generated key in")
		}
		file = filepath.Join(dataDir, generatedKeyFile)
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			if err := generateKey(file); err != nil {
				return nil, false, err
			}
			generated = true
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, false, fmt.Errorf("auth: read signing key: %w", err)
	}
	k, err := parseSigningKey(b)
	if err != nil {
		return nil, false, fmt.Errorf("auth: signing key %s: %w", file, err)
	}
	return k, generated, nil
}

func generateKey(file string) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("auth: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("auth: encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("auth: create data dir: %w", err)
	}
	// O_EXCL: two servers starting at once on one data dir must not overwrite
	// each other's key; the loser reads the winner's.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("auth: write signing key: %w", err)
	}
	return nil
}

func parseSigningKey(b []byte) (*signingKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	k := &signingKey{}
	switch p := key.(type) {
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, errors.New("EC key must use curve P-256 (ES256)")
		}
		k.alg, k.priv = jose.ES256, p
	case *rsa.PrivateKey:
		if p.N.BitLen() < 2048 {
			return nil, errors.New("RSA key must have at least 2048 bits")
		}
		k.alg, k.priv = jose.RS256, p
	default:
		return nil, fmt.Errorf("unsupported key type %T (want EC P-256 or RSA)", key)
	}
	k.jwk = jose.JSONWebKey{Key: k.priv.Public(), Algorithm: string(k.alg), Use: "sig"}
	tp, err := k.jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key thumbprint: %w", err)
	}
	k.kid = base64.RawURLEncoding.EncodeToString(tp[:12])
	k.jwk.KeyID = k.kid
	return k, nil
}

// jwks is the public key set.
func (k *signingKey) jwks() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.jwk}}
}

// s256 is the PKCE S256 transform: BASE64URL(SHA256(verifier)).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
