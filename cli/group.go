package cli

import "github.com/spf13/cobra"

// group makes c a command group: without a subcommand it prints its help;
// an unknown subcommand is a usage error (exit 2) instead of silent help.
func group(c *cobra.Command) *cobra.Command {
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return c
}
