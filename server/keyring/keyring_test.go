package keyring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/keyring"
	"github.com/riseplatform/rise/server/keyring/kmsfake"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func local(t *testing.T, b64 string) *keyring.Local {
	t.Helper()
	l, err := keyring.NewLocal(b64)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSealOpenRotate(t *testing.T) {
	ctx := context.Background()
	k1, k2 := local(t, newKey(t)), local(t, newKey(t))
	if k1.ID() == k2.ID() || !strings.HasPrefix(k1.ID(), "local:") {
		t.Fatalf("ids %q %q", k1.ID(), k2.ID())
	}
	old := keyring.New(k1)
	plain := []byte("postgres://app:hunter2@db/app")
	s, err := old.Seal(ctx, plain, []byte("p1/DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s.Data, plain) || bytes.Contains(s.WrappedKey, plain) || s.KeyID != k1.ID() {
		t.Fatalf("sealed value leaks or has the wrong key: %+v", s)
	}
	// Another context (row) does not open it.
	if _, err := old.Open(ctx, s, []byte("p2/DATABASE_URL")); err == nil {
		t.Fatal("opened under another aad")
	}
	// A tampered value does not open.
	bad := s
	bad.Data = append([]byte(nil), s.Data...)
	bad.Data[len(bad.Data)-1] ^= 1
	if _, err := old.Open(ctx, bad, []byte("p1/DATABASE_URL")); err == nil {
		t.Fatal("opened a tampered value")
	}

	// Rotation: the new key seals new values, the old one still reads.
	rotated := keyring.New(k2, k1)
	got, err := rotated.Open(ctx, s, []byte("p1/DATABASE_URL"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open with the old key as old_keys: %q %v", got, err)
	}
	s2, err := rotated.Rewrap(ctx, s)
	if err != nil || s2.KeyID != k2.ID() || !bytes.Equal(s2.Data, s.Data) {
		t.Fatalf("rewrap: %+v %v", s2, err)
	}
	// After rotation only the new key is needed.
	if got, err := keyring.New(k2).Open(ctx, s2, []byte("p1/DATABASE_URL")); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open after rewrap without the old key: %q %v", got, err)
	}
	// Without the key that wrapped it: a clear error naming the key.
	_, err = keyring.New(k2).Open(ctx, s, []byte("p1/DATABASE_URL"))
	if !errors.Is(err, keyring.ErrUnknownKey) || !strings.Contains(err.Error(), k1.ID()) {
		t.Fatalf("open without the key: %v", err)
	}
}

func TestLocalKeyErrorsHideTheKey(t *testing.T) {
	for _, k := range []string{"", "c2hvcnQ=", "not base64 at all!!"} {
		_, err := keyring.NewLocal(k)
		if err == nil || (k != "" && strings.Contains(err.Error(), k)) {
			t.Errorf("NewLocal(%q) = %v", k, err)
		}
	}
}

// TestKMS drives the real aws-sdk-go-v2 KMS client against the protocol
// fake, which checks every request's SigV4 signature.
func TestKMS(t *testing.T) {
	ctx := context.Background()
	fake := kmsfake.Start("key-old", "key-new")
	t.Cleanup(fake.Close)
	for k, v := range kmsfake.Env(t.TempDir()) {
		t.Setenv(k, v)
	}
	kr := func(cur string, old ...string) *keyring.Keyring {
		t.Helper()
		k, err := keyring.FromConfig(ctx, &config.Encryption{Provider: "aws-kms", KeyID: cur, OldKeyIDs: old,
			Region: kmsfake.Region, Endpoint: fake.URL})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	plain := []byte("sk_live_123456789")
	s, err := kr("key-old").Seal(ctx, plain, []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID != "aws-kms:key-old" || fake.Calls("Encrypt") != 1 {
		t.Fatalf("sealed under %s, %d Encrypt calls", s.KeyID, fake.Calls("Encrypt"))
	}
	rot := kr("key-new", "key-old")
	s2, err := rot.Rewrap(ctx, s)
	if err != nil || s2.KeyID != "aws-kms:key-new" {
		t.Fatalf("rewrap: %+v %v", s2, err)
	}
	got, err := kr("key-new").Open(ctx, s2, []byte("aad"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	// Wrong credentials: the fake refuses the signature, and the error says so.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	_, err = kr("key-new").Open(ctx, s2, []byte("aad"))
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("open with wrong credentials: %v", err)
	}
}
