package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }
