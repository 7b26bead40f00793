package cli

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

func newServiceAccountCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "service-account",
		Aliases: []string{"sa"},
		Short:   "Let CI systems deploy a project with their own OIDC tokens",
		Example: `  rise sa create shop --issuer https://gitlab.example.com --claim project_path=acme/shop --claim ref=refs/heads/main
  rise sa ls shop
  rise sa rm shop 3f2a…`,
	})
	c.AddCommand(addProjectFlag(newSACreateCmd()), addProjectFlag(newSAListCmd()), addProjectFlag(newSADeleteCmd()))
	return c
}

func claimsString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

func newSACreateCmd() *cobra.Command {
	var issuer string
	var claims, environments []string
	c := &cobra.Command{
		Use:     "create [PROJECT]",
		Aliases: []string{"c", "new"},
		Short:   "Allow tokens from ISSUER whose claims match to deploy PROJECT",
		Long: `Create a service account: a JWT from --issuer (a trusted_issuer of the server, by URL
or name) whose claims match every --claim (exact value or glob; '*' does not cross '/')
may deploy PROJECT and nothing else. With --environment it may deploy only to those
environments; a protected environment takes only service accounts that name it.`,
		Example: `  rise service-account create shop --issuer https://token.actions.githubusercontent.com \
      --claim repository=acme/shop --claim ref=refs/heads/main
  rise sa c shop --issuer gitlab --claim project_path=acme/shop --environment staging`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			if issuer == "" {
				return exitcode.Usagef("--issuer is required")
			}
			if len(claims) == 0 {
				return exitcode.Usagef("at least one --claim KEY=VALUE is required")
			}
			req := api.CreateServiceAccountRequest{Issuer: issuer, Claims: map[string]string{}, Environments: environments}
			for _, kv := range claims {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return exitcode.Usagef("invalid --claim %q: use KEY=VALUE", kv)
				}
				req.Claims[k] = v
			}
			project, env, c, err := projectClient(cmd, args)
			if err != nil {
				return err
			}
			sa, err := c.CreateServiceAccount(cmd.Context(), project, req)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(sa)
			}
			where := "it"
			if len(sa.Environments) > 0 {
				where = "its " + strings.Join(sa.Environments, ", ")
			}
			env.Printer.Successf("Created service account %s for '%s': tokens from %s with %s may deploy %s.", sa.ID, project, sa.Issuer, claimsString(sa.Claims), where)
			return nil
		},
	}
	c.Flags().StringVar(&issuer, "issuer", "", "trusted issuer URL or name (required)")
	c.Flags().StringArrayVar(&claims, "claim", nil, "required claim KEY=VALUE (repeatable, required)")
	c.Flags().StringArrayVar(&environments, "environment", nil, "limit the account to this environment (repeatable; default: every unprotected one)")
	return c
}

func newSAListCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "list [PROJECT]",
		Aliases:           []string{"ls", "l"},
		Short:             "List a project's service accounts",
		Example:           `  rise service-account list shop -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, env, c, err := projectClient(cmd, args)
			if err != nil {
				return err
			}
			l, err := c.ListServiceAccounts(cmd.Context(), project)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				if l.ServiceAccounts == nil {
					l.ServiceAccounts = []api.ServiceAccount{}
				}
				return env.Printer.JSON(l.ServiceAccounts)
			}
			if len(l.ServiceAccounts) == 0 {
				env.Printer.Infof("'%s' has no service accounts.", project)
				return nil
			}
			t := output.NewTable(output.Column{Header: "ID", Min: 16}, output.Column{Header: "ISSUER", Min: 24},
				output.Column{Header: "ENVIRONMENTS", Min: 14}, output.Column{Header: "CLAIMS"})
			for _, sa := range l.ServiceAccounts {
				envs := "unprotected"
				if len(sa.Environments) > 0 {
					envs = strings.Join(sa.Environments, ",")
				}
				t.Row(sa.ID, sa.Issuer, envs, claimsString(sa.Claims))
			}
			return t.Render(env.Printer.Out)
		},
	}
}

func newSADeleteCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:     "delete [PROJECT] ID",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a service account",
		Example: `  rise service-account delete shop 3f2a9c1e-…
  rise sa rm -p shop 3f2a9c1e-…`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var project string
			if len(args) == 2 {
				project = args[0]
			}
			project, err := projectArg(cmd, []string{project})
			if err != nil {
				return err
			}
			args = []string{project, args[len(args)-1]}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			if !yes {
				if err := confirm(env, "Delete service account "+args[1]+" of '"+args[0]+"'? CI jobs using it will stop deploying.", "--yes"); err != nil {
					return err
				}
			}
			if err := c.DeleteServiceAccount(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string]string{"deleted": args[1], "project": args[0]})
			}
			env.Printer.Successf("Deleted service account %s of '%s'.", args[1], args[0])
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}
