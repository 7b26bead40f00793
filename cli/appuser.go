package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

// rise project app-user: people who may use a project's app (the edge
// lets them in) without any right on the project itself.
func newAppUserCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "app-user",
		Aliases: []string{"app-users", "au"},
		Short:   "Let users or teams use a project's app, without any right on the project",
		Long: `App users may open a project's running app (private, authenticated or any class)
but cannot deploy it, read its variables or logs, or change it.`,
		Example: `  rise project app-user add secret-app user:carol@example.com
  rise p app-user add secret-app team:finance
  rise p app-user ls secret-app
  rise p app-user rm secret-app user:carol`,
	})
	c.AddCommand(addProjectFlag(newAppUserAddCmd()), addProjectFlag(newAppUserListCmd()), addProjectFlag(newAppUserRemoveCmd()))
	return c
}

// appUserArgs splits [PROJECT] SUBJECT.
func appUserArgs(cmd *cobra.Command, args []string) (project, subject string, err error) {
	subject = args[len(args)-1]
	kind, ref, _ := strings.Cut(subject, ":")
	if (kind != "user" && kind != "team") || ref == "" {
		return "", "", exitcode.Usagef("invalid app user %q: use user:<name or email> or team:<name>", subject)
	}
	return projectAndName(cmd, args)
}

func newAppUserAddCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "add [PROJECT] user:<name or email>|team:<name>",
		Aliases: []string{"a", "grant"},
		Short:   "Let a user, or every member of a team, use the app",
		Example: `  rise project app-user add secret-app user:carol@example.com
  rise p au add team:finance   # the project in ./rise.hcl`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			project, subject, err := appUserArgs(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			a, err := client.AddAppUser(cmd.Context(), project, subject)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(a)
			}
			env.Printer.Successf("%s may now use the app of '%s' (and nothing else of the project).", a.Subject, project)
			return nil
		},
	}
}

func newAppUserListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list [PROJECT]",
		Aliases: []string{"ls", "l"},
		Short:   "List the app users of a project",
		Example: `  rise project app-user list secret-app
  rise p au ls -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, env, client, err := projectClient(cmd, args)
			if err != nil {
				return err
			}
			list, err := client.ListAppUsers(cmd.Context(), project)
			if err != nil {
				return err
			}
			t := output.NewTable(output.Column{Header: "APP USER", Min: 24}, output.Column{Header: "EMAIL", Min: 24}, output.Column{Header: "ADDED"})
			return printList(env, list, "No app users. Add one with `rise project app-user add "+project+" user:<email>`.", t,
				func(a api.AppUser) []string { return []string{a.Subject, orDash(a.Email), fmtTime(a.CreatedAt)} })
		},
	}
}

func newAppUserRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "remove [PROJECT] user:<name or email>|team:<name>",
		Aliases: []string{"rm", "del", "revoke"},
		Short:   "Stop letting a user or team use the app",
		Example: `  rise project app-user remove secret-app user:carol
  rise p au rm secret-app team:finance`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			project, subject, err := appUserArgs(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			if err := client.RemoveAppUser(cmd.Context(), project, subject); err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string]string{"removed": subject})
			}
			env.Printer.Successf("%s may no longer use the app of '%s'.", subject, project)
			return nil
		},
	}
}
