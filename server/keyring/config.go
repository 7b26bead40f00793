package keyring

import (
	"context"
	"fmt"

	"github.com/riseplatform/rise/core/config"
)

// FromConfig builds the keyring of server.hcl's encryption block (nil
// without one). LoadServer has validated the block.
func FromConfig(ctx context.Context, e *config.Encryption) (*Keyring, error) {
	if e == nil {
		return nil, nil
	}
	switch e.Provider {
	case "local":
		cur, err := NewLocal(e.Key)
		if err != nil {
			return nil, err
		}
		var old []KEK
		for i, k := range e.OldKeys {
			l, err := NewLocal(k)
			if err != nil {
				return nil, fmt.Errorf("old_keys[%d]: %w", i, err)
			}
			old = append(old, l)
		}
		return New(cur, old...), nil
	case "aws-kms":
		c, err := NewKMSClient(ctx, KMSOptions{Region: e.Region, Endpoint: e.Endpoint})
		if err != nil {
			return nil, err
		}
		var old []KEK
		for _, id := range e.OldKeyIDs {
			old = append(old, NewKMS(c, id))
		}
		return New(NewKMS(c, e.KeyID), old...), nil
	}
	return nil, fmt.Errorf("unknown encryption provider %q", e.Provider)
}
