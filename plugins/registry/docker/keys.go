package docker

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// loadKeys reads the configured key pair or, when none is configured, the one
// kept in StateDir, generating it on first use.
func (r *Registry) loadKeys() error {
	if r.SigningKeyFile == "" {
		dir := r.StateDir
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return fmt.Errorf("registry: no signing_key_file and no home directory for state_dir: %w", err)
			}
			dir = filepath.Join(home, ".local", "share", "rise", "registry-docker")
		}
		r.SigningKeyFile = filepath.Join(dir, "token-signing.key")
		r.CertificateFile = filepath.Join(dir, "token-signing.crt")
		if err := generateKeyPair(r.SigningKeyFile, r.CertificateFile, r.Issuer); err != nil {
			return err
		}
	}
	keyPEM, err := os.ReadFile(r.SigningKeyFile)
	if err != nil {
		return fmt.Errorf("registry: read signing key: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return fmt.Errorf("registry: signing key %s: %w", r.SigningKeyFile, err)
	}
	certPEM, err := os.ReadFile(r.CertificateFile)
	if err != nil {
		return fmt.Errorf("registry: read certificate: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("registry: %s holds no PEM certificate", r.CertificateFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("registry: parse certificate %s: %w", r.CertificateFile, err)
	}
	if !samePublicKey(cert.PublicKey, key.Public()) {
		return fmt.Errorf("registry: certificate %s is not for signing key %s", r.CertificateFile, r.SigningKeyFile)
	}
	r.key, r.cert = key, cert
	return nil
}

func parseKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported key type %T", k)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("unsupported PEM block %q (want an EC or RSA private key)", block.Type)
	}
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// generateKeyPair creates an EC P-256 key and a self-signed certificate for
// it, unless both files exist. Files appear atomically, so concurrent
// plugin processes agree on one pair.
func generateKeyPair(keyPath, certPath, issuer string) error {
	if fileExists(keyPath) && fileExists(certPath) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return fmt.Errorf("registry: create state dir: %w", err)
	}
	lock, err := os.OpenFile(keyPath+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("registry: lock state dir: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("registry: lock state dir: %w", err)
	}
	if fileExists(keyPath) && fileExists(certPath) { // made while we waited
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("registry: generate signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: issuer + " registry token signer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("registry: self-sign certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	// Key first, then certificate: a reader that sees the certificate sees the key.
	if err := writeOnce(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	if err := writeOnce(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return nil
}

// writeOnce writes path atomically unless it already exists.
func writeOnce(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("registry: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("registry: write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("registry: write %s: %w", path, err)
	}
	return nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
