// Package clictx is what every rise CLI command gets from the root command:
// the printer, the resolved server URL and token, and an API client. It
// lives apart from package cli so that command packages (cli/build,
// cli/plugincmd, …) can use it without importing the root.
package clictx

import (
	"context"
	"io"
	"time"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/cli/settings"
	"github.com/riseplatform/rise/core/api"
)

// Env is the environment of one CLI invocation.
type Env struct {
	Printer    *output.Printer
	Stdin      io.Reader
	StdinTTY   bool // stdin is a terminal: prompting is allowed
	Getenv     func(string) string
	ConfigPath string
	Settings   *settings.Settings // never nil; empty when config.json is missing or unreadable
	// SettingsErr is why config.json could not be read. It is reported by
	// the commands that need the stored login (Client, SaveLogin), so that
	// other commands (server, plugin processes) run without a config.
	SettingsErr error
	FlagURL     string // --url
	Version     string // client version, for the User-Agent
	Now         func() time.Time
}

// Resolved returns the effective URL and token.
func (e *Env) Resolved() settings.Resolved {
	s := e.Settings
	if s == nil {
		s = &settings.Settings{}
	}
	getenv := e.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return settings.Resolve(s, e.FlagURL, getenv)
}

// AnonClient returns a client without a token (login, version).
func (e *Env) AnonClient() *api.Client {
	c := api.NewClient(e.Resolved().URL, "")
	c.UserAgent = "rise-cli/" + e.Version
	return c
}

// Client returns an authenticated client, or an exit-code-4 error telling
// the user to run `rise login` when there is no token or it has expired.
func (e *Env) Client() (*api.Client, error) {
	r := e.Resolved()
	if e.SettingsErr != nil && !r.TokenFromEnv {
		return nil, e.SettingsErr
	}
	if r.Token == "" {
		return nil, exitcode.NotLoggedIn("You are not logged in to " + r.URL)
	}
	if r.Expired(e.now()) {
		return nil, exitcode.NotLoggedIn("Your session has expired")
	}
	c := api.NewClient(r.URL, r.Token)
	c.UserAgent = "rise-cli/" + e.Version
	return c, nil
}

// SaveLogin stores a new token for url in config.json.
func (e *Env) SaveLogin(url, token string, expiresAt time.Time, user string) error {
	if e.ConfigPath == "" {
		return e.SettingsErr
	}
	if e.Settings == nil {
		e.Settings = &settings.Settings{}
	}
	e.Settings.URL = url
	e.Settings.Token = token
	e.Settings.ExpiresAt = expiresAt
	e.Settings.User = user
	return e.Settings.Save(e.ConfigPath)
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

type ctxKey struct{}

// With returns ctx carrying e.
func With(ctx context.Context, e *Env) context.Context { return context.WithValue(ctx, ctxKey{}, e) }

// From returns the Env in ctx (set by the root command before any command
// runs), or nil.
func From(ctx context.Context) *Env {
	e, _ := ctx.Value(ctxKey{}).(*Env)
	return e
}
