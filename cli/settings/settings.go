// Package settings is the rise CLI's own state: the server URL and the
// access token, stored in $XDG_CONFIG_HOME/rise/config.json (default
// ~/.config/rise/config.json) with mode 0600. RISE_URL and RISE_TOKEN
// override what is stored.
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultURL is used when no server URL is configured anywhere.
const DefaultURL = "http://localhost:3000"

// Settings is config.json.
type Settings struct {
	URL       string    `json:"url,omitempty"`
	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	User      string    `json:"user,omitempty"` // display name of the logged-in user
}

// Path returns the config file path using getenv for XDG_CONFIG_HOME and HOME.
func Path(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find config directory: %w", err)
			}
			home = h
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "rise", "config.json"), nil
}

// Load reads the file at path; a missing file gives empty settings.
func Load(path string) (*Settings, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Settings{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var s Settings
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w (delete it and run `rise login` again)", path, err)
	}
	return &s, nil
}

// Save writes s to path atomically with mode 0600 (directory 0700).
func (s *Settings) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Resolved is what a command uses: stored settings with environment and
// flag overrides applied.
type Resolved struct {
	URL       string
	Token     string
	ExpiresAt time.Time // zero when unknown (e.g. RISE_TOKEN)
	// TokenFromEnv reports that RISE_TOKEN supplied the token.
	TokenFromEnv bool
}

// Resolve applies overrides: flagURL > RISE_URL > stored > DefaultURL;
// RISE_TOKEN > stored token. A stored token is only used with the URL it was
// issued for.
func Resolve(s *Settings, flagURL string, getenv func(string) string) Resolved {
	r := Resolved{URL: s.URL}
	if v := getenv("RISE_URL"); v != "" {
		r.URL = v
	}
	if flagURL != "" {
		r.URL = flagURL
	}
	if r.URL == "" {
		r.URL = DefaultURL
	}
	r.URL = strings.TrimRight(r.URL, "/")
	if sameURL(r.URL, s.URL) {
		r.Token, r.ExpiresAt = s.Token, s.ExpiresAt
	}
	if v := getenv("RISE_TOKEN"); v != "" {
		r.Token, r.ExpiresAt, r.TokenFromEnv = v, time.Time{}, true
	}
	return r
}

func sameURL(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// Expired reports whether the token's known expiry has passed at now.
func (r Resolved) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)
}
