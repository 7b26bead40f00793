// Package login implements `rise login`'s three flows against the rise
// server: the browser flow (authorization code + PKCE S256 with a callback
// server on localhost), the device flow, and local email/password.
package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

// DefaultPorts are tried in order for the browser flow's callback server;
// the server accepts redirect URIs on exactly these.
var DefaultPorts = []int{8765, 8766, 8767}

// DefaultTimeout bounds how long a login waits for the user.
const DefaultTimeout = 5 * time.Minute

// Options configure a login flow.
type Options struct {
	Client   *api.Client
	Printer  *output.Printer
	Provider string        // OIDC provider name; "" = the server's default
	Ports    []int         // callback ports; nil = DefaultPorts
	Timeout  time.Duration // 0 = DefaultTimeout
	// Getenv reads DISPLAY, WAYLAND_DISPLAY, SSH_CONNECTION and BROWSER to
	// decide whether a browser can be opened; nil = os.Getenv.
	Getenv func(string) string
	// OpenBrowser opens url; nil = the platform's opener (xdg-open, open,
	// rundll32 or $BROWSER).
	OpenBrowser func(url string) error
}

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

func (o *Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

// Password logs in a local (development) user.
func Password(ctx context.Context, c *api.Client, email, password string) (*api.TokenResponse, error) {
	tok, err := c.Login(ctx, api.LoginRequest{Email: email, Password: password})
	var ae *api.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return nil, exitcode.New(exitcode.NotAuthenticated, "Login failed: %s", ae.Message)
	case err != nil:
		return nil, fmt.Errorf("log in as %s: %w", email, err)
	}
	return tok, nil
}

// headless reports whether no local browser can be shown.
func (o *Options) headless() bool {
	if o.getenv("BROWSER") != "" {
		return false
	}
	if o.getenv("SSH_CONNECTION") != "" || o.getenv("SSH_TTY") != "" {
		return true
	}
	if runtime.GOOS == "linux" || runtime.GOOS == "freebsd" {
		return o.getenv("DISPLAY") == "" && o.getenv("WAYLAND_DISPLAY") == ""
	}
	return false
}

func (o *Options) open(url string) error {
	if o.OpenBrowser != nil {
		return o.OpenBrowser(url)
	}
	var cmd *exec.Cmd
	switch {
	case o.getenv("BROWSER") != "":
		cmd = exec.Command(o.getenv("BROWSER"), url)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", url)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open browser: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

func timedOut(what string, d time.Duration) error {
	return exitcode.New(exitcode.TimedOut, "Timed out after %s waiting for %s; run `rise login` again", d, what)
}
