package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/login"
	"github.com/riseplatform/rise/core/api"
)

func newLoginCmd() *cobra.Command {
	var device bool
	var email, password, provider string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "login",
		Short: "Log in to a rise server",
		Long: `Log in to a rise server and store the token in $XDG_CONFIG_HOME/rise/config.json.

By default the browser flow is used: rise listens on the first free of localhost:8765,
8766 and 8767, prints the login URL and opens it in your browser. On a machine without
a browser open the printed URL elsewhere on the same machine, or use --device.
--email (with --password or a password prompt) logs in a local development user.`,
		Example: `  rise login --url https://rise.example.com
  rise login --device
  rise login --email admin@example.com --password secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env := envOf(cmd)
			if password != "" && email == "" {
				return exitcode.Usagef("--password needs --email")
			}
			if device && email != "" {
				return exitcode.Usagef("--device and --email cannot be combined")
			}
			url := env.Resolved().URL
			client := env.AnonClient()
			opts := login.Options{Client: client, Printer: env.Printer, Provider: provider, Timeout: timeout, Getenv: env.Getenv}
			var tok *api.TokenResponse
			var err error
			switch {
			case email != "":
				tok, err = passwordLogin(cmd, env, client, email, password)
			case device:
				tok, err = login.Device(cmd.Context(), opts)
			default:
				tok, err = defaultLogin(cmd, env, opts)
			}
			if err != nil {
				return err
			}
			name := greetingName(tok.User)
			if err := env.SaveLogin(url, tok.Token, tok.ExpiresAt, name); err != nil {
				return fmt.Errorf("save login: %w", err)
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string]any{"url": url, "user": tok.User, "expires_at": tok.ExpiresAt})
			}
			env.Printer.Successf("Login successful! Welcome back, %s!", name)
			return nil
		},
	}
	f := c.Flags()
	f.BoolVar(&device, "device", false, "use the device flow: enter a code on any device")
	f.StringVar(&email, "email", "", "log in a local (development) user with this email")
	f.StringVar(&password, "password", "", "password for --email (prompted on a terminal when omitted)")
	f.StringVar(&provider, "provider", "", "OIDC provider configured on the server (default: the first)")
	f.DurationVar(&timeout, "timeout", login.DefaultTimeout, "how long to wait for the login to complete")
	return c
}

// defaultLogin picks the browser flow, or email/password when the server
// offers only local users.
func defaultLogin(cmd *cobra.Command, env *clictx.Env, opts login.Options) (*api.TokenResponse, error) {
	cfg, err := opts.Client.AuthConfig(cmd.Context())
	if err == nil && len(cfg.Providers) == 0 && cfg.Local {
		if !env.StdinTTY {
			return nil, exitcode.Usagef("this server offers only email/password login: pass --email and --password")
		}
		email, err := prompt(env, "Email: ")
		if err != nil {
			return nil, err
		}
		return passwordLogin(cmd, env, opts.Client, email, "")
	}
	if err == nil && len(cfg.Providers) == 0 && !cfg.Local {
		return nil, fmt.Errorf("the rise server at %s has no login method configured", opts.Client.BaseURL)
	}
	return login.Browser(cmd.Context(), opts)
}

func passwordLogin(cmd *cobra.Command, env *clictx.Env, c *api.Client, email, password string) (*api.TokenResponse, error) {
	if password == "" {
		if !env.StdinTTY {
			return nil, exitcode.Usagef("no password given: pass --password (stdin is not a terminal)")
		}
		fd := int(os.Stdin.Fd())
		restore := echoOff(fd)
		fmt.Fprint(env.Printer.Err, "Password: ")
		b, err := term.ReadPassword(fd)
		restore()
		fmt.Fprintln(env.Printer.Err)
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		password = string(b)
	}
	return login.Password(cmd.Context(), c, email, password)
}

// greetingName is how the user is greeted: their handle with a capital
// first letter ("niklas" → "Niklas", as in the seed), else their email.
func greetingName(u api.User) string {
	if u.Name == "" {
		return u.Email
	}
	r, size := utf8.DecodeRuneInString(u.Name)
	return string(unicode.ToUpper(r)) + u.Name[size:]
}

// prompt asks q on stderr and reads one line from stdin. At end of input
// without an answer the error wraps io.EOF.
func prompt(env *clictx.Env, q string) (string, error) {
	fmt.Fprint(env.Printer.Err, q)
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func newLogoutCmd() *cobra.Command {
	var all bool
	var user string
	c := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the stored token on the server and forget it",
		Long: `Revoke the stored token on the server (it is refused from the next request on, by
every server replica) and forget it locally. The token is forgotten even when the server
cannot be reached; rise then says so, and the token stays valid until it expires.

--all revokes every token and browser session of your account (all machines).
--user revokes every token and browser session of another user (admins only; your own
login is kept).`,
		Example: `  rise logout
  rise logout --all
  rise logout --user mallory`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env := envOf(cmd)
			if user != "" {
				if all {
					return exitcode.Usagef("--all and --user cannot be combined")
				}
				client, err := env.Client()
				if err != nil {
					return err
				}
				if err := client.RevokeUserTokens(cmd.Context(), user); err != nil {
					return fmt.Errorf("revoke the tokens of %s: %w", user, err)
				}
				env.Printer.Successf("Revoked every token and browser session of %s.", user)
				return nil
			}
			if env.SettingsErr != nil {
				return env.SettingsErr
			}
			if env.Settings.Token == "" {
				env.Printer.Infof("You are not logged in.")
				return nil
			}
			client := api.NewClient(env.Settings.URL, env.Settings.Token)
			client.UserAgent = "rise-cli/" + env.Version
			revokeErr := client.Logout(cmd.Context(), all)
			var ae *api.Error
			if errors.As(revokeErr, &ae) && ae.Status == http.StatusUnauthorized {
				revokeErr = nil // already revoked or expired
			}
			env.Settings.Token, env.Settings.ExpiresAt, env.Settings.User = "", time.Time{}, ""
			if err := env.Settings.Save(env.ConfigPath); err != nil {
				return err
			}
			if revokeErr != nil {
				env.Printer.Warnf("Could not revoke the token on %s (%v); it was forgotten here but stays valid until it expires.", env.Settings.URL, revokeErr)
				return nil
			}
			if all {
				env.Printer.Successf("Logged out of %s everywhere.", env.Settings.URL)
				return nil
			}
			env.Printer.Successf("Logged out of %s.", env.Settings.URL)
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "revoke every token and browser session of your account")
	c.Flags().StringVar(&user, "user", "", "revoke every token of this user (admins only)")
	return c
}

func newWhoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who you are logged in as",
		Example: `  rise whoami
  rise whoami -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			me, err := client.Me(cmd.Context())
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(me)
			}
			fs := []field{{"Name", me.Name}, {"Email", orDash(me.Email)}, {"Admin", fmt.Sprint(me.Admin)}, {"Teams", listOrNone(me.Teams)}, {"Server", client.BaseURL}}
			if me.ServiceAccount != "" {
				fs = append(fs, field{"Service account for", me.ServiceAccount})
			}
			return printFields(env.Printer.Out, fs)
		},
	}
}
