package cli

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
)

func newEnvCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "env",
		Aliases: []string{"e"},
		Short:   "Set, list and remove a project's stored variables and secrets",
		Long: `A project's variables are stored encrypted by the server and given to every new
deployment (a change takes effect with the next deploy, or at once with
'rise env set --deploy'). Kinds: plain; --secret (masked; owners may read it
with --reveal); --protected (write-only: never shown again).

Variables are project-wide, or with -E ENV an environment's own: a
deployment in ENV gets the project-wide ones overlaid by ENV's (same name:
ENV's wins).`,
		Example: `  rise env set LOG_LEVEL=debug
  printf %s "$DATABASE_URL" | rise env set DATABASE_URL=- --secret
  rise env list
  rise env import .env`,
	})
	for _, sub := range []*cobra.Command{newEnvSetCmd(), newEnvGetCmd(), newEnvListCmd(), newEnvUnsetCmd(), newEnvImportCmd(), newEnvExportCmd()} {
		c.AddCommand(addScopeFlag(addProjectFlag(sub)))
	}
	return c
}

// addScopeFlag adds -E/--environment (the name and shorthand of
// 'rise deploy -E'): the command acts on that environment's own variables
// (reads show what the environment sees: its own over the project's).
func addScopeFlag(c *cobra.Command) *cobra.Command {
	c.Flags().StringP("environment", "E", "", "environment whose own variables to use (default: the project-wide ones)")
	return c
}

// scopeFlag is the command's -E value ("" = project-wide).
func scopeFlag(cmd *cobra.Command) string {
	e, _ := cmd.Flags().GetString("environment")
	return e
}

// where is "project 'p'" or "environment 'E' of project 'p'".
func where(project, scope string) string {
	if scope == "" {
		return fmt.Sprintf("project '%s'", project)
	}
	return fmt.Sprintf("environment '%s' of project '%s'", scope, project)
}

// setChunk bounds one request's values (the server takes 1 MiB bodies).
const setChunk = 256 << 10

// setVariables sets vars of scope in requests of bounded size and returns
// what the server stored.
func setVariables(ctx context.Context, c *api.Client, project, scope string, vars []api.VariableInput) ([]api.Variable, error) {
	var out []api.Variable
	for len(vars) > 0 {
		n, size := 0, 0
		for n < len(vars) && (n == 0 || size+len(vars[n].Value) < setChunk) && n < names.MaxVariables {
			size += len(vars[n].Value) + len(vars[n].Name)
			n++
		}
		l, err := c.SetEnvVariables(ctx, project, scope, &api.SetVariablesRequest{Variables: vars[:n]})
		if err != nil {
			return out, err
		}
		out = append(out, l.Variables...)
		vars = vars[n:]
	}
	return out, nil
}

// describeSet is "A, B (secret), C (protected)".
func describeSet(vs []api.Variable) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Name
		if v.Kind != api.KindPlain {
			parts[i] += " (" + string(v.Kind) + ")"
		}
	}
	return strings.Join(parts, ", ")
}

func newEnvSetCmd() *cobra.Command {
	var secret, protected, deploy bool
	c := &cobra.Command{
		Use:   "set NAME=VALUE [NAME=VALUE...]",
		Short: "Set variables (VALUE '-' reads it from standard input)",
		Long: `Set variables of the project. A VALUE of '-' is read from standard input, so
secrets stay out of shell history. Deployments already running keep their
values; --deploy redeploys the active deployment with the new ones.`,
		Example: `  rise env set LOG_LEVEL=info FEATURE_X=on
  rise env set -E staging LOG_LEVEL=debug
  rise env set API_KEY=- --secret < api-key.txt
  rise env set STRIPE_KEY=- --protected --deploy`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if secret && protected {
				return exitcode.Usagef("--secret and --protected exclude each other")
			}
			kind := api.KindPlain
			switch {
			case secret:
				kind = api.KindSecret
			case protected:
				kind = api.KindProtected
			}
			env := envOf(cmd)
			stdinUsed := false
			var vars []api.VariableInput
			for _, kv := range args {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return exitcode.Usagef("invalid argument %q: use NAME=VALUE (or NAME=- to read the value from standard input)", k)
				}
				if v == "-" {
					if stdinUsed {
						return exitcode.Usagef("only one value can be read from standard input")
					}
					stdinUsed = true
					var err error
					if v, err = readStdinValue(env, k); err != nil {
						return err
					}
				}
				if err := names.ValidateVariable(k, v); err != nil {
					return exitcode.Usagef("%v", err)
				}
				vars = append(vars, api.VariableInput{Name: k, Value: v, Kind: kind})
			}
			project, err := projectArg(cmd, nil)
			if err != nil {
				return err
			}
			client, err := env.Client()
			if err != nil {
				return err
			}
			scope := scopeFlag(cmd)
			set, err := setVariables(cmd.Context(), client, project, scope, vars)
			if err != nil {
				return err
			}
			var d *api.Deployment
			if deploy {
				if d, err = redeployActive(cmd.Context(), client, project, scope); err != nil {
					return err
				}
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(struct {
					Variables  []api.Variable  `json:"variables"`
					Deployment *api.Deployment `json:"deployment,omitempty"`
				}{set, d})
			}
			env.Printer.Successf("Set %s in %s.", describeSet(set), where(project, scope))
			if d != nil {
				env.Printer.Infof("Redeploying as deployment %s. Follow it with `rise deployment show %s %s --follow`.", d.ID, project, d.ID)
			} else {
				env.Printer.Infof("New deployments use them; redeploy with `rise env set ... --deploy` or `rise deploy`.")
			}
			return nil
		},
	}
	c.Flags().BoolVar(&secret, "secret", false, "store as a secret: masked, owners may read it with --reveal")
	c.Flags().BoolVar(&protected, "protected", false, "store as a protected secret: never shown again")
	c.Flags().BoolVar(&deploy, "deploy", false, "redeploy the active deployment with the new values")
	return c
}

// redeployActive redeploys the active (default group) deployment of the
// project, or of its environment scope.
func redeployActive(ctx context.Context, c *api.Client, project, scope string) (*api.Deployment, error) {
	var active string
	if scope == "" {
		p, err := c.GetProject(ctx, project)
		if err != nil {
			return nil, err
		}
		active = p.ActiveDeployment
	} else {
		e, err := c.GetEnvironment(ctx, project, scope)
		if err != nil {
			return nil, err
		}
		if e.Deployment != nil {
			active = e.Deployment.ID
		}
	}
	if active == "" {
		return nil, fmt.Errorf("%s has no active deployment to redeploy; the values apply to the next `rise deploy`", where(project, scope))
	}
	return c.Redeploy(ctx, project, active)
}

func newEnvGetCmd() *cobra.Command {
	var reveal bool
	c := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a variable's value (secrets only with --reveal, owners only)",
		Example: `  rise env get LOG_LEVEL
  rise env get LOG_LEVEL -E staging
  rise env get API_KEY --reveal`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			project, err := projectArg(cmd, nil)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			v, err := client.GetEnvVariable(cmd.Context(), project, scopeFlag(cmd), args[0], reveal)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(v)
			}
			if v.Value == nil {
				env.Printer.Println(api.Masked)
				if v.Kind == api.KindSecret {
					env.Printer.Infof("%s is a secret; add --reveal to print it (project owners only).", v.Name)
				} else {
					env.Printer.Infof("%s is protected: its value cannot be read back.", v.Name)
				}
				return nil
			}
			env.Printer.Println(*v.Value)
			return nil
		},
	}
	c.Flags().BoolVar(&reveal, "reveal", false, "print a secret's value (project owners only; audited)")
	return c
}

// shown is a variable's value as the CLI prints it.
func shown(v api.Variable) string {
	if v.Value == nil {
		return api.Masked
	}
	return *v.Value
}

func newEnvListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls", "l"},
		Short:   "List the project's variables, or with -E what an environment sees (secrets masked)",
		Example: `  rise env list
  rise env list -E staging
  rise env ls -p my-app -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			project, err := projectArg(cmd, nil)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			scope := scopeFlag(cmd)
			l, err := client.ListEnvVariables(cmd.Context(), project, scope, false)
			if err != nil {
				return err
			}
			return printVariables(env, project, scope, l.Variables)
		},
	}
}

// printVariables prints vs; with an environment scope, a SCOPE column says
// whose value each is (project or the environment's own).
func printVariables(env *clictx.Env, project, scope string, vs []api.Variable) error {
	cols := []output.Column{{Header: "NAME", Min: 16}}
	if scope != "" {
		cols = append(cols, output.Column{Header: "SCOPE", Min: 10})
	}
	cols = append(cols, output.Column{Header: "KIND", Min: 10}, output.Column{Header: "VALUE", Min: 12},
		output.Column{Header: "UPDATED", Min: 24}, output.Column{Header: "BY"})
	empty := fmt.Sprintf("Project '%s' has no variables. Set one with `rise env set NAME=VALUE`.", project)
	if scope != "" {
		empty = fmt.Sprintf("Environment '%s' of project '%s' sees no variables. Set one with `rise env set -E %s NAME=VALUE`.", scope, project, scope)
	}
	return printList(env, vs, empty, output.NewTable(cols...), func(v api.Variable) []string {
		row := []string{v.Name}
		if scope != "" {
			row = append(row, cmp.Or(v.Environment, "project"))
		}
		return append(row, string(v.Kind), oneLine(shown(v)), fmtTime(v.UpdatedAt), orDash(v.UpdatedBy))
	})
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	const max = 60
	s = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

func newEnvUnsetCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "unset NAME [NAME...]",
		Aliases: []string{"rm"},
		Short:   "Remove variables (running deployments keep them)",
		Long: `Remove variables of the project, or with -E an environment's own values
(the project-wide value of the name, if any, then applies to it).`,
		Example: `  rise env unset FEATURE_X
  rise env unset -E staging LOG_LEVEL`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			project, err := projectArg(cmd, nil)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			scope := scopeFlag(cmd)
			for _, name := range args {
				if err := client.UnsetEnvVariable(cmd.Context(), project, scope, name); err != nil {
					return err
				}
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string][]string{"unset": args})
			}
			env.Printer.Successf("Unset %s in %s.", strings.Join(args, ", "), where(project, scope))
			return nil
		},
	}
}

func newEnvImportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Set variables from a dotenv file (K=secret:V marks a secret, K=protected:V a protected one)",
		Example: `  rise env import .env
  rise env import -E staging staging.env
  rise env import - < production.env`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vars, err := readDotenv(args[0], envOf(cmd).Stdin)
			if err != nil {
				return err
			}
			if len(vars) == 0 {
				return exitcode.Usagef("%s has no variables", args[0])
			}
			project, err := projectArg(cmd, nil)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			scope := scopeFlag(cmd)
			set, err := setVariables(cmd.Context(), client, project, scope, vars)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(api.VariableList{Variables: set})
			}
			env.Printer.Successf("Imported %d variables into %s: %s.", len(set), where(project, scope), describeSet(set))
			return nil
		},
	}
}

func newEnvExportCmd() *cobra.Command {
	var reveal bool
	c := &cobra.Command{
		Use:   "export",
		Short: "Print the variables (with -E: what the environment sees) as a dotenv file (secrets only with --reveal; protected never)",
		Example: `  rise env export > .env
  rise env export -E staging > staging.env
  rise env export --reveal -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			project, err := projectArg(cmd, nil)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			l, err := client.ListEnvVariables(cmd.Context(), project, scopeFlag(cmd), reveal)
			if err != nil {
				return err
			}
			out := map[string]string{}
			var left []string
			for _, v := range l.Variables {
				if v.Value == nil {
					left = append(left, v.Name)
					continue
				}
				out[v.Name] = *v.Value
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(out)
			}
			if err := writeDotenv(env.Printer.Out, out); err != nil {
				return err
			}
			if len(left) > 0 {
				hint := "protected"
				if !reveal {
					hint = "secret or protected; --reveal exports secrets"
				}
				env.Printer.Infof("Not exported (%s): %s", hint, strings.Join(left, ", "))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&reveal, "reveal", false, "include secret values (project owners only; audited)")
	return c
}
