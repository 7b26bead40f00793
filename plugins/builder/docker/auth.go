package docker

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/riseplatform/rise/sdk"
)

// writeDockerConfig writes a docker config.json holding only c into dir, the
// DOCKER_CONFIG of the build (never the user's ~/.docker).
func writeDockerConfig(dir string, c *sdk.Credentials) error {
	auth := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
	b, err := json.Marshal(map[string]any{"auths": map[string]any{c.Registry: map[string]string{"auth": auth}}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return fmt.Errorf("write temporary registry config: %w", err)
	}
	return nil
}
