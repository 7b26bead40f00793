package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Local is a KEK held in the server's configuration: 32 bytes, base64.
type Local struct {
	key []byte
	id  string
}

var _ KEK = (*Local)(nil)

// localAAD binds wrapped data keys to their purpose.
var localAAD = []byte("rise data key v1")

// NewLocal parses a base64 32-byte key. Errors never include the key.
func NewLocal(b64 string) (*Local, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(key) != dataKeyLen {
		return nil, fmt.Errorf("local encryption key: want base64 of %d bytes (openssl rand -base64 32)", dataKeyLen)
	}
	// The id is a fingerprint: it tells keys apart without revealing them.
	sum := sha256.Sum256(append([]byte("rise kek id\x00"), key...))
	return &Local{key: key, id: "local:" + hex.EncodeToString(sum[:8])}, nil
}

// ID implements KEK.
func (l *Local) ID() string { return l.id }

// Wrap implements KEK.
func (l *Local) Wrap(_ context.Context, dk []byte) ([]byte, error) {
	return gcmSeal(l.key, dk, localAAD)
}

// Unwrap implements KEK.
func (l *Local) Unwrap(_ context.Context, wrapped []byte) ([]byte, error) {
	return gcmOpen(l.key, wrapped, localAAD)
}
