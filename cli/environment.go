package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

func newEnvironmentCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "environment",
		Aliases: []string{"envs"}, // not "env": that is the variables command
		Short:   "Create, list, show, update and delete a project's environments",
		Example: `  rise environment create shop staging --replicas 1
  rise envs ls shop
  rise envs u shop production --protected`,
	})
	c.AddCommand(addProjectFlag(newEnvironmentCreateCmd()), addProjectFlag(newEnvironmentListCmd()), addProjectFlag(newEnvironmentShowCmd()),
		addProjectFlag(newEnvironmentUpdateCmd()), addProjectFlag(newEnvironmentDeleteCmd()))
	return c
}

// envSettings are the flags of create and update.
type envSettings struct {
	production, protected bool
	replicas              int
	cpu, memory           string
}

func (s *envSettings) bind(fl *pflag.FlagSet) {
	fl.BoolVar(&s.production, "production", false, "mark the environment as serving real users")
	fl.BoolVar(&s.protected, "protected", false, "only owners and service accounts limited to it may deploy")
	fl.IntVar(&s.replicas, "replicas", 0, "default replicas of its deployments (0 = unset)")
	fl.StringVar(&s.cpu, "cpu", "", "default CPU of its deployments, e.g. 500m")
	fl.StringVar(&s.memory, "memory", "", "default memory of its deployments, e.g. 256Mi")
}

// request holds the flags the user set.
func (s *envSettings) request(cmd *cobra.Command) api.EnvironmentRequest {
	var req api.EnvironmentRequest
	fl := cmd.Flags()
	if fl.Changed("production") {
		req.Production = &s.production
	}
	if fl.Changed("protected") {
		req.Protected = &s.protected
	}
	if fl.Changed("replicas") {
		req.Replicas = &s.replicas
	}
	if fl.Changed("cpu") {
		req.CPU = &s.cpu
	}
	if fl.Changed("memory") {
		req.Memory = &s.memory
	}
	return req
}

func newEnvironmentCreateCmd() *cobra.Command {
	var s envSettings
	c := &cobra.Command{
		Use:     "create [PROJECT] NAME",
		Aliases: []string{"c", "new"},
		Short:   "Create an environment (served at <project>--<name>.<domain>)",
		Example: `  rise environment create shop staging
  rise envs c staging -p shop --protected --replicas 2`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, name, err := projectAndName(cmd, args)
			if err != nil {
				return err
			}
			req := s.request(cmd)
			req.Name = name
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			e, err := c.CreateEnvironment(cmd.Context(), project, req)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(e)
			}
			env.Printer.Successf("Environment '%s' of '%s' created; it will be served at %s", e.Name, project, e.URL)
			return nil
		},
	}
	s.bind(c.Flags())
	return c
}

func newEnvironmentListCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "list [PROJECT]",
		Aliases:           []string{"ls", "l"},
		Short:             "List a project's environments with their active deployment and URL",
		Example:           `  rise environment list shop`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, env, c, err := projectClient(cmd, args)
			if err != nil {
				return err
			}
			l, err := c.ListEnvironments(cmd.Context(), project)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(l.Environments)
			}
			return printEnvironments(env, l.Environments)
		},
	}
}

func printEnvironments(env *clictx.Env, es []api.Environment) error {
	t := output.NewTable(output.Column{Header: "ENVIRONMENT", Min: 14}, output.Column{Header: "DEPLOYMENT", Min: 18},
		output.Column{Header: "STATUS", Min: 10}, output.Column{Header: "URL", Min: 32}, output.Column{Header: "FLAGS"})
	for _, e := range es {
		dep, state := "-", "-"
		if e.Deployment != nil {
			dep, state = e.Deployment.ID, string(e.Deployment.State)
		}
		t.Row(e.Name, dep, state, e.URL, envFlags(e))
	}
	return t.Render(env.Printer.Out)
}

func envFlags(e api.Environment) string {
	var s string
	add := func(f string) {
		if s != "" {
			s += ","
		}
		s += f
	}
	if e.Default {
		add("default")
	}
	if e.Production {
		add("production")
	}
	if e.Protected {
		add("protected")
	}
	return orDash(s)
}

func newEnvironmentShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show [PROJECT] NAME",
		Aliases:           []string{"s"},
		Short:             "Show an environment",
		Example:           `  rise environment show shop staging -o json`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, name, err := projectAndName(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			e, err := c.GetEnvironment(cmd.Context(), project, name)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(e)
			}
			dep := "-"
			if e.Deployment != nil {
				dep = e.Deployment.ID + " (" + string(e.Deployment.State) + ")"
			}
			replicas := "-"
			if e.Replicas > 0 {
				replicas = strconv.Itoa(e.Replicas)
			}
			return printFields(env.Printer.Out, []field{
				{"Environment", e.Name}, {"Project", project}, {"URL", e.URL}, {"Active deployment", dep},
				{"Flags", envFlags(*e)}, {"Replicas", replicas}, {"CPU", orDash(e.CPU)}, {"Memory", orDash(e.Memory)},
				{"Created", fmtTime(e.CreatedAt)}, {"Updated", fmtTime(e.UpdatedAt)},
			})
		},
	}
}

func newEnvironmentUpdateCmd() *cobra.Command {
	var s envSettings
	c := &cobra.Command{
		Use:     "update [PROJECT] NAME",
		Aliases: []string{"u", "edit"},
		Short:   "Change an environment's flags and workload defaults",
		Example: `  rise environment update shop production --protected
  rise envs u staging -p shop --replicas 1 --memory 128Mi`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, name, err := projectAndName(cmd, args)
			if err != nil {
				return err
			}
			req := s.request(cmd)
			if req == (api.EnvironmentRequest{}) {
				return exitcode.Usagef("nothing to change: pass --production, --protected, --replicas, --cpu or --memory")
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			e, err := c.UpdateEnvironment(cmd.Context(), project, name, req)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(e)
			}
			env.Printer.Successf("Environment '%s' of '%s' updated.", e.Name, project)
			return nil
		},
	}
	s.bind(c.Flags())
	return c
}

func newEnvironmentDeleteCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:               "delete [PROJECT] NAME",
		Aliases:           []string{"del", "rm"},
		Short:             "Delete an environment that runs nothing (and its deployment history and own variables)",
		Example:           `  rise environment delete shop staging --yes`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, name, err := projectAndName(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			if !yes {
				if err := confirm(env, fmt.Sprintf("Delete environment '%s' of '%s' and its deployment history?", name, project), "--yes"); err != nil {
					return err
				}
			}
			c, err := env.Client()
			if err != nil {
				return err
			}
			if err := c.DeleteEnvironment(cmd.Context(), project, name); err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string]string{"deleted": name, "project": project})
			}
			env.Printer.Successf("Environment '%s' of '%s' deleted.", name, project)
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}
