package docker

import "time"

// SetClock replaces the registry's clock (tests only).
func SetClock(r *Registry, now func() time.Time) { r.now = now }

// RegistryToken signs a registry token for one repository (tests only).
func RegistryToken(r *Registry, repo string, actions ...string) (string, error) {
	t, err := r.registryToken("test", []access{{Type: "repository", Name: repo, Actions: actions}})
	if err != nil {
		return "", err
	}
	return t.Token, nil
}
