package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/version"
)

type versionInfo struct {
	Client    string       `json:"client"`
	Server    *api.Version `json:"server,omitempty"`
	ServerURL string       `json:"server_url,omitempty"`
	Skew      bool         `json:"skew,omitempty"`
}

func newVersionCmd() *cobra.Command {
	var clientOnly bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Show the client and server versions",
		Long: `Show the rise client version and the version of the server at --url (or the
logged-in server); warns when their major.minor versions differ.`,
		Example: `  rise version
  rise version --client
  rise version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env := envOf(cmd)
			info := versionInfo{Client: version.Version}
			var serverErr error
			if !clientOnly {
				ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
				defer cancel()
				c := env.AnonClient()
				info.ServerURL = c.BaseURL
				info.Server, serverErr = c.ServerVersion(ctx)
				if serverErr == nil {
					info.Skew = majorMinor(info.Client) != majorMinor(info.Server.Version)
				}
			}
			if env.Printer.JSONMode() {
				if err := env.Printer.JSON(info); err != nil {
					return err
				}
			} else {
				env.Printer.Println("Client: rise " + info.Client)
				if info.Server != nil {
					env.Printer.Println(fmt.Sprintf("Server: rise %s (%s, plugin protocol %d)", info.Server.Version, info.ServerURL, info.Server.Protocol))
				}
			}
			if serverErr != nil {
				return fmt.Errorf("get server version: %w", serverErr)
			}
			if info.Skew {
				env.Printer.Warnf("client %s and server %s differ in version; update the older one", info.Client, info.Server.Version)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&clientOnly, "client", false, "show only the client version (no server call)")
	return c
}

// majorMinor returns "1.2" of "v1.2.3-rc1"; anything unparsable is returned as is.
func majorMinor(v string) string {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
}
