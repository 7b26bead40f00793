package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

func newTeamCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "team",
		Aliases: []string{"t"},
		Short:   "Create, list, show, update and delete teams",
		Example: `  rise team create devops --member alice@example.com
  rise t ls
  rise t u devops --add-member bob@example.com`,
	})
	c.AddCommand(newTeamCreateCmd(), newTeamListCmd(), newTeamShowCmd(), newTeamUpdateCmd(), newTeamDeleteCmd())
	return c
}

func newTeamCreateCmd() *cobra.Command {
	var req api.CreateTeamRequest
	c := &cobra.Command{
		Use:     "create NAME",
		Aliases: []string{"c", "new"},
		Short:   "Create a team; you become an owner",
		Example: `  rise team create devops
  rise t c devops --owner alice@example.com --member bob@example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			r := req
			r.Name = args[0]
			t, err := client.CreateTeam(cmd.Context(), r)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(t)
			}
			env.Printer.Successf("Created team '%s' with owners %s and members %s.", t.Name, listOrNone(t.Owners), listOrNone(t.Members))
			return nil
		},
	}
	c.Flags().StringSliceVar(&req.Owners, "owner", nil, "additional owner (user name or email; repeatable)")
	c.Flags().StringSliceVar(&req.Members, "member", nil, "member (user name or email; repeatable)")
	return c
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func teamTable() *output.Table {
	return output.NewTable(
		output.Column{Header: "TEAM", Min: 16},
		output.Column{Header: "OWNERS", Min: 24},
		output.Column{Header: "MEMBERS"},
	)
}

func newTeamListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls", "l"},
		Short:   "List teams",
		Example: `  rise team list
  rise t ls -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			ts, err := client.AllTeams(cmd.Context())
			if err != nil {
				return err
			}
			return printTeams(env, ts)
		},
	}
}

func printTeams(env *clictx.Env, ts []api.Team) error {
	return printList(env, ts, "No teams yet. Create one with `rise team create NAME`.", teamTable(),
		func(t api.Team) []string {
			return []string{t.Name, strings.Join(t.Owners, ","), strings.Join(t.Members, ",")}
		})
}

func newTeamShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Aliases: []string{"s"},
		Short:   "Show a team and its members",
		Example: `  rise team show devops
  rise t s devops -o json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTeams,
		RunE: func(cmd *cobra.Command, args []string) error {
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			t, err := client.GetTeam(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(t)
			}
			return printFields(env.Printer.Out, []field{
				{"Team", t.Name}, {"Owners", listOrNone(t.Owners)}, {"Members", listOrNone(t.Members)},
				{"Managed by", orDefault(t.ManagedBy, "hand (rise)")},
				{"Created", fmtTime(t.CreatedAt)}, {"Updated", fmtTime(t.UpdatedAt)},
			})
		},
	}
}

func newTeamUpdateCmd() *cobra.Command {
	var req api.UpdateTeamRequest
	var rename string
	c := &cobra.Command{
		Use:     "update NAME",
		Aliases: []string{"u", "edit"},
		Short:   "Rename a team or change its owners and members",
		Example: `  rise team update devops --add-member bob@example.com --remove-member carol
  rise t u devops --add-owner alice --rename platform`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTeams,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if !flagChanged(fs, "rename", "add-member", "remove-member", "add-owner", "remove-owner") {
				return exitcode.Usagef("nothing to update: pass --rename, --add-member, --remove-member, --add-owner or --remove-owner")
			}
			r := req
			if fs.Changed("rename") {
				if rename == "" {
					return exitcode.Usagef("--rename needs a new name")
				}
				r.Name = &rename
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			t, err := client.UpdateTeam(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(t)
			}
			msg := fmt.Sprintf("Updated team '%s'", t.Name)
			if t.Name != args[0] {
				msg = fmt.Sprintf("Renamed team '%s' to '%s'", args[0], t.Name)
			}
			env.Printer.Successf("%s: owners %s; members %s.", msg, listOrNone(t.Owners), listOrNone(t.Members))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&rename, "rename", "", "new team name")
	f.StringSliceVar(&req.AddMembers, "add-member", nil, "add a member (user name or email; repeatable)")
	f.StringSliceVar(&req.RemoveMembers, "remove-member", nil, "remove a member (repeatable)")
	f.StringSliceVar(&req.AddOwners, "add-owner", nil, "add an owner (repeatable)")
	f.StringSliceVar(&req.RemoveOwners, "remove-owner", nil, "remove an owner (repeatable)")
	return c
}

func newTeamDeleteCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a team (it must not own projects)",
		Example: `  rise team delete old-team
  rise t rm old-team --yes`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeTeams,
		RunE: func(cmd *cobra.Command, args []string) error {
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			if !yes {
				if err := confirm(env, fmt.Sprintf("Delete team '%s'?", args[0]), "--yes"); err != nil {
					return err
				}
			}
			if err := client.DeleteTeam(cmd.Context(), args[0]); err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string]string{"deleted": args[0]})
			}
			env.Printer.Successf("Deleted team '%s'.", args[0])
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}
