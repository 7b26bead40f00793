package cli

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
)

func newProjectCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "project",
		Aliases: []string{"p"},
		Short:   "Create, list, show, update and delete projects",
		Example: `  rise project create secret-app --visibility private --owner team:devops
  rise p c handbook --access authenticated
  rise p ls
  rise p show secret-app -o json
  rise p app-user add secret-app user:carol@example.com`,
	})
	c.AddCommand(addProjectFlag(newProjectCreateCmd()), newProjectListCmd(), addProjectFlag(newProjectShowCmd()),
		addProjectFlag(newProjectUpdateCmd()), addProjectFlag(newProjectDeleteCmd()), newAppUserCmd())
	return c
}

// projectTable is the seed's `rise p ls` table.
func projectTable() *output.Table {
	return output.NewTable(
		output.Column{Header: "PROJECT", Min: 16},
		output.Column{Header: "STATUS", Min: 14},
		output.Column{Header: "URL", Min: 32},
		output.Column{Header: "VISIBILITY", Min: 14},
		output.Column{Header: "OWNER"},
	)
}

func checkVisibility(v string) error {
	switch v {
	case "", api.VisibilityPublic, api.VisibilityPrivate:
		return nil
	}
	return exitcode.Usagef("invalid --visibility %q: use public or private (or --access for the other access classes)", v)
}

// accessFlags reads --access and its older name --visibility (public or
// private); "" when neither is given.
func accessFlags(access, visibility string) (string, error) {
	if err := checkVisibility(visibility); err != nil {
		return "", err
	}
	if access != "" && visibility != "" && access != visibility {
		return "", exitcode.Usagef("--access %q and --visibility %q disagree: pass one (--visibility is the old name of --access)", access, visibility)
	}
	if access == "" {
		return visibility, nil
	}
	if !names.IsLabel(access) {
		return "", exitcode.Usagef("invalid --access %q: use public, authenticated, private or a class of your server", access)
	}
	return access, nil
}

// accessWords describes p's access class: the seed's "private visibility"
// for public and private, "authenticated access" for the others.
func accessWords(p *api.Project) string {
	if p.Access == api.AccessPublic || p.Access == api.AccessPrivate {
		return p.Access + " visibility"
	}
	return p.Access + " access"
}

var accessCompletion = cobra.FixedCompletions([]string{api.AccessPublic, api.AccessAuthenticated, api.AccessPrivate}, cobra.ShellCompDirectiveNoFileComp)

func checkOwner(o string) error {
	if o == "" || strings.HasPrefix(o, "user:") || strings.HasPrefix(o, "team:") {
		return nil
	}
	return exitcode.Usagef("invalid --owner %q: use user:<name> or team:<name>", o)
}

func newProjectCreateCmd() *cobra.Command {
	var req api.CreateProjectRequest
	c := &cobra.Command{
		Use:     "create [NAME]",
		Aliases: []string{"c", "new"},
		Short:   "Create a project",
		Long: `Create a project. Its app is served at https://<name>.<domain>.
NAME defaults to -p/--project, else the project in ./rise.hcl, ./rise.toml or ./.rise.toml.`,
		Example: `  rise project create my-app
  rise p c secret-app --visibility private --owner team:devops`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			access, err := accessFlags(req.Access, req.Visibility)
			if err != nil {
				return err
			}
			req.Access, req.Visibility = access, ""
			if err := checkOwner(req.Owner); err != nil {
				return err
			}
			name, err := projectArg(cmd, args)
			if err != nil {
				return err
			}
			r := req
			// Visibility and owner not given as flags come from the app
			// config of the project being created ([project] access_class
			// and owner in a reference rise rise.toml).
			if wd, err := os.Getwd(); err == nil && (r.Access == "" || r.Owner == "") {
				if app, err := loadApp(nil, wd); err == nil && app != nil && app.Project == name {
					r.Access = orDefault(r.Access, app.Visibility)
					r.Owner = orDefault(r.Owner, app.Owner)
				}
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			r.Name = name
			p, err := client.CreateProject(cmd.Context(), r)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(p)
			}
			env.Printer.Successf("Created project '%s' with %s owned by %s.", p.Name, accessWords(p), p.Owner)
			return nil
		},
	}
	c.Flags().StringVar(&req.Access, "access", "", "who may use the app: public (default), authenticated, private, or a class of your server")
	c.Flags().StringVar(&req.Visibility, "visibility", "", "public or private (the old name of --access)")
	c.Flags().StringVar(&req.Owner, "owner", "", "owner: user:<name> or team:<name> (default: you)")
	_ = c.RegisterFlagCompletionFunc("access", accessCompletion)
	_ = c.RegisterFlagCompletionFunc("visibility", cobra.FixedCompletions([]string{api.VisibilityPublic, api.VisibilityPrivate}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("owner", completeOwners)
	return c
}

func newProjectListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls", "l"},
		Short:   "List your projects",
		Example: `  rise project list
  rise p ls -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			ps, err := client.AllProjects(cmd.Context())
			if err != nil {
				return err
			}
			return printProjects(env, ps)
		},
	}
}

func printProjects(env *clictx.Env, ps []api.Project) error {
	return printList(env, ps, "No projects yet. Create one with `rise project create NAME`.", projectTable(),
		func(p api.Project) []string {
			return []string{p.Name, p.Status, p.URL, orDefault(p.Access, p.Visibility), p.Owner}
		})
}

func newProjectShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "show [NAME]",
		Aliases: []string{"s"},
		Short:   "Show a project",
		Long:    "Show a project. NAME defaults to -p/--project, else the project in ./rise.hcl, ./rise.toml or ./.rise.toml.",
		Example: `  rise project show secret-app
  rise p s -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := projectArg(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			p, err := client.GetProject(cmd.Context(), name)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(p)
			}
			if err := printFields(env.Printer.Out, []field{
				{"Project", p.Name}, {"Status", p.Status}, {"URL", p.URL},
				{"Access", p.Access}, {"Visibility", p.Visibility}, {"Owner", p.Owner},
				{"Active deployment", orDash(p.ActiveDeployment)},
				{"Created", fmtTime(p.CreatedAt)}, {"Updated", fmtTime(p.UpdatedAt)},
			}); err != nil {
				return err
			}
			envs, err := client.ListEnvironments(cmd.Context(), name)
			if api.StatusOf(err) == http.StatusNotFound {
				return nil // a server from before environments: the project alone
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Printer.Out)
			return printEnvironments(env, envs.Environments)
		},
	}
}

func newProjectUpdateCmd() *cobra.Command {
	var access, visibility, owner string
	c := &cobra.Command{
		Use:     "update [NAME]",
		Aliases: []string{"u", "edit"},
		Short:   "Change a project's access class or owner",
		Example: `  rise project update secret-app --access authenticated
  rise p u secret-app --visibility public
  rise p u secret-app --owner team:devops`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			var req api.UpdateProjectRequest
			if cmd.Flags().Changed("access") || cmd.Flags().Changed("visibility") {
				a, err := accessFlags(access, visibility)
				if err != nil {
					return err
				}
				if a == "" {
					return exitcode.Usagef("empty --access: use public, authenticated, private or a class of your server")
				}
				req.Access = &a
			}
			if cmd.Flags().Changed("owner") {
				if err := checkOwner(owner); err != nil || owner == "" {
					return exitcode.Usagef("invalid --owner %q: use user:<name> or team:<name>", owner)
				}
				req.Owner = &owner
			}
			if req.Access == nil && req.Owner == nil {
				return exitcode.Usagef("nothing to update: pass --access (or --visibility) or --owner")
			}
			name, err := projectArg(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			p, err := client.UpdateProject(cmd.Context(), name, req)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(p)
			}
			env.Printer.Successf("Updated project '%s': %s, owned by %s.", p.Name, accessWords(p), p.Owner)
			return nil
		},
	}
	c.Flags().StringVar(&access, "access", "", "public, authenticated, private, or a class of your server")
	c.Flags().StringVar(&visibility, "visibility", "", "public or private (the old name of --access)")
	_ = c.RegisterFlagCompletionFunc("access", accessCompletion)
	c.Flags().StringVar(&owner, "owner", "", "new owner: user:<name> or team:<name>")
	_ = c.RegisterFlagCompletionFunc("visibility", cobra.FixedCompletions([]string{api.VisibilityPublic, api.VisibilityPrivate}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("owner", completeOwners)
	return c
}

func newProjectDeleteCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:     "delete [NAME]",
		Aliases: []string{"del", "rm"},
		Short:   "Delete a project, its deployments and its images",
		Long: `Delete a project. Its deployments are stopped and its images removed; this cannot be
undone. Asks for confirmation on a terminal; pass --yes in scripts.`,
		Example: `  rise project delete old-app
  rise p rm old-app --yes`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Deleting names its project explicitly: never from the app file.
			if len(args) == 0 && projectFlag(cmd) == "" {
				return exitcode.Usagef("name the project to delete: rise project delete NAME (or -p NAME)")
			}
			name, err := projectArg(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			if !yes {
				if err := confirm(env, fmt.Sprintf("Delete project '%s', all its deployments and images?", name), "--yes"); err != nil {
					return err
				}
			}
			if err := client.DeleteProject(cmd.Context(), name); err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string]string{"deleted": name})
			}
			env.Printer.Successf("Deleted project '%s'.", name)
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}
