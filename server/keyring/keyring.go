// Package keyring is envelope encryption for values rise keeps at rest
// (project variables): every value is sealed with AES-256-GCM under its own
// random data key, and the data key is wrapped by a key-encryption key
// (KEK) from a provider configured in server.hcl's encryption block —
// "local" (a 32-byte key) or "aws-kms" (a KMS key; the KEK never leaves
// KMS).
//
// The keyring has one current KEK, which wraps every new data key, and any
// number of old ones, which still unwrap what they wrapped. Rewrap moves a
// data key to the current KEK without touching the sealed value, which is
// how `rise server rotate-keys` retires an old key.
package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
)

// KEK is a key-encryption key.
type KEK interface {
	// ID names the key in stored rows ("local:<fingerprint>",
	// "aws-kms:<key id>"). It never reveals key material.
	ID() string
	// Wrap encrypts a data key.
	Wrap(ctx context.Context, dataKey []byte) ([]byte, error)
	// Unwrap decrypts a data key this KEK wrapped.
	Unwrap(ctx context.Context, wrapped []byte) ([]byte, error)
}

// Sealed is a value at rest: the AES-GCM sealed value (nonce || ciphertext
// || tag), its wrapped data key and the id of the KEK that wrapped it.
type Sealed struct {
	Data       []byte
	WrappedKey []byte
	KeyID      string
}

// ErrUnknownKey: a value was wrapped by a KEK that is not configured.
var ErrUnknownKey = errors.New("encryption key not configured")

// dataKeyLen is AES-256.
const dataKeyLen = 32

// Keyring seals and opens values.
type Keyring struct {
	current KEK
	byID    map[string]KEK
}

// New returns a keyring that wraps with current and unwraps with current
// and old.
func New(current KEK, old ...KEK) *Keyring {
	k := &Keyring{current: current, byID: map[string]KEK{current.ID(): current}}
	for _, o := range old {
		if _, dup := k.byID[o.ID()]; !dup {
			k.byID[o.ID()] = o
		}
	}
	return k
}

// CurrentID is the id of the KEK new values are wrapped with.
func (k *Keyring) CurrentID() string { return k.current.ID() }

// IDs lists every configured KEK's id, sorted.
func (k *Keyring) IDs() []string {
	out := make([]string, 0, len(k.byID))
	for id := range k.byID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Has reports whether KEK id is configured.
func (k *Keyring) Has(id string) bool { _, ok := k.byID[id]; return ok }

// Seal encrypts plaintext under a fresh data key wrapped by the current
// KEK. aad binds the sealed value to its context (e.g. project and name):
// Open must be given the same aad.
func (k *Keyring) Seal(ctx context.Context, plaintext, aad []byte) (Sealed, error) {
	dk := make([]byte, dataKeyLen)
	if _, err := rand.Read(dk); err != nil {
		return Sealed{}, fmt.Errorf("generate data key: %w", err)
	}
	data, err := gcmSeal(dk, plaintext, aad)
	if err != nil {
		return Sealed{}, err
	}
	wrapped, err := k.current.Wrap(ctx, dk)
	if err != nil {
		return Sealed{}, fmt.Errorf("wrap data key with %s: %w", k.current.ID(), err)
	}
	return Sealed{Data: data, WrappedKey: wrapped, KeyID: k.current.ID()}, nil
}

// Open decrypts s with the same aad it was sealed with.
func (k *Keyring) Open(ctx context.Context, s Sealed, aad []byte) ([]byte, error) {
	dk, err := k.unwrap(ctx, s)
	if err != nil {
		return nil, err
	}
	out, err := gcmOpen(dk, s.Data, aad)
	if err != nil {
		return nil, fmt.Errorf("open value sealed under %s: %w", s.KeyID, err)
	}
	return out, nil
}

// Rewrap re-wraps s's data key with the current KEK. The sealed value is
// unchanged. s already under the current KEK comes back as it is.
func (k *Keyring) Rewrap(ctx context.Context, s Sealed) (Sealed, error) {
	if s.KeyID == k.current.ID() {
		return s, nil
	}
	dk, err := k.unwrap(ctx, s)
	if err != nil {
		return Sealed{}, err
	}
	wrapped, err := k.current.Wrap(ctx, dk)
	if err != nil {
		return Sealed{}, fmt.Errorf("wrap data key with %s: %w", k.current.ID(), err)
	}
	return Sealed{Data: s.Data, WrappedKey: wrapped, KeyID: k.current.ID()}, nil
}

// Check unwraps s's data key: it proves the KEK named by s.KeyID is the
// key that wrapped it (a wrong key with the right id fails here).
func (k *Keyring) Check(ctx context.Context, s Sealed) error {
	_, err := k.unwrap(ctx, s)
	return err
}

func (k *Keyring) unwrap(ctx context.Context, s Sealed) ([]byte, error) {
	kek, ok := k.byID[s.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: values are wrapped with %s, configured: %v", ErrUnknownKey, s.KeyID, k.IDs())
	}
	dk, err := kek.Unwrap(ctx, s.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("unwrap data key with %s: %w", s.KeyID, err)
	}
	if len(dk) != dataKeyLen {
		return nil, fmt.Errorf("unwrap data key with %s: got %d bytes, want %d", s.KeyID, len(dk), dataKeyLen)
	}
	return dk, nil
}

// gcmSeal encrypts with AES-GCM under key: nonce || ciphertext || tag.
func gcmSeal(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

// gcmOpen reverses gcmSeal.
func gcmOpen(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, errors.New("authentication failed (wrong key or tampered value)")
	}
	return out, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	return aead, nil
}
