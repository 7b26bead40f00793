package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

func newDeploymentCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "deployment",
		Aliases: []string{"d"},
		Short:   "Create, list, show, roll back, stop deployments and read their logs",
		Example: `  rise d c secret-app
  rise d ls secret-app
  rise d s secret-app 20261123-142501 --follow
  rise d logs secret-app 20261123-142501 -f`,
	})
	c.AddCommand(newDeploymentCreateCmd(), addProjectFlag(newDeploymentListCmd()), addProjectFlag(newDeploymentShowCmd()),
		addProjectFlag(newDeploymentRollbackCmd()), addProjectFlag(newDeploymentStopCmd()), addProjectFlag(newDeploymentLogsCmd()))
	return c
}

func deploymentTable() *output.Table {
	return output.NewTable(
		output.Column{Header: "DEPLOYMENT", Min: 18},
		output.Column{Header: "STATUS", Min: 14},
		output.Column{Header: "GROUP", Min: 10},
		output.Column{Header: "CREATED", Min: 22},
		output.Column{Header: "IMAGE"},
	)
}

func newDeploymentListCmd() *cobra.Command {
	var group, environment string
	var limit int
	c := &cobra.Command{
		Use:     "list [PROJECT]",
		Aliases: []string{"ls", "l"},
		Short:   "List a project's deployments, newest first",
		Example: `  rise deployment list secret-app
  rise d ls -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, env, c, err := projectClient(cmd, args)
			if err != nil {
				return err
			}
			l, err := c.QueryDeployments(cmd.Context(), project, api.DeploymentQuery{Environment: environment, Group: group, Limit: limit})
			if err != nil {
				return err
			}
			return printDeployments(env, project, l.Deployments)
		},
	}
	c.Flags().StringVar(&group, "group", "", "only this deployment group")
	c.Flags().StringVarP(&environment, "environment", "E", "", "only this environment")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (default: the server's page size)")
	return c
}

func printDeployments(env *clictx.Env, project string, ds []api.Deployment) error {
	if env.Printer.JSONMode() {
		if ds == nil {
			ds = []api.Deployment{}
		}
		return env.Printer.JSON(ds)
	}
	if env.Printer.Quiet { // ids only, one per line, for scripts
		for _, d := range ds {
			env.Printer.Println(d.ID)
		}
		return nil
	}
	if len(ds) == 0 {
		env.Printer.Infof("No deployments of '%s' yet. Deploy with `rise deploy %s`.", project, project)
		return nil
	}
	t := deploymentTable()
	for _, d := range ds {
		state := string(d.State)
		if d.Active {
			state += " *"
		}
		t.Row(d.ID, state, d.Group, d.CreatedAt.Local().Format("2006-01-02 15:04:05"), orDash(orDefault(d.ImageDigest, d.Image)))
	}
	return t.Render(env.Printer.Out)
}

func deploymentFields(d *api.Deployment) []field {
	fs := []field{
		{"Deployment", d.ID}, {"Project", d.Project}, {"Environment", orDefault(d.Environment, api.DefaultEnvironment)},
		{"Group", d.Group}, {"Status", string(d.State)},
		{"Active", fmt.Sprint(d.Active)}, {"URL", orDash(d.URL)}, {"Image", orDash(d.Image)},
		{"Digest", orDash(d.ImageDigest)},
	}
	if d.Message != "" {
		fs = append(fs, field{"Message", d.Message})
	}
	if d.RollbackOf != "" {
		fs = append(fs, field{"Rollback of", d.RollbackOf})
	}
	if d.PromotedFrom != "" {
		fs = append(fs, field{"Promoted from", d.PromotedFrom})
	}
	if d.JobURL != "" {
		fs = append(fs, field{"CI job", d.JobURL})
	}
	if d.PullRequestURL != "" {
		fs = append(fs, field{"Pull request", d.PullRequestURL})
	}
	if d.ExpiresAt != nil {
		fs = append(fs, field{"Expires", fmtTime(*d.ExpiresAt)})
	}
	return append(fs, field{"Created by", orDash(d.CreatedBy)}, field{"Created", fmtTime(d.CreatedAt)}, field{"Updated", fmtTime(d.UpdatedAt)})
}

func newDeploymentShowCmd() *cobra.Command {
	var follow bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:     "show [PROJECT] ID",
		Aliases: []string{"s"},
		Short:   "Show a deployment; --follow waits until it is healthy or done",
		Example: `  rise deployment show secret-app 20261123-142501
  rise d s 20261123-142501 --follow`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeDeployment,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, id, err := projectAndID(cmd, args, true)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			d, err := c.GetDeployment(cmd.Context(), project, id)
			if err != nil {
				return err
			}
			if follow {
				var ferr error
				if d, ferr = followDeployment(cmd.Context(), env, c, d, timeout); ferr != nil {
					if !env.Printer.JSONMode() { // with -o json the error document is the one output
						_ = printFields(env.Printer.Out, deploymentFields(d))
					}
					return ferr
				}
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(d)
			}
			return printFields(env.Printer.Out, deploymentFields(d))
		},
	}
	c.Flags().BoolVarP(&follow, "follow", "f", false, "wait until the deployment is healthy or finished")
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long --follow waits")
	return c
}

func newDeploymentRollbackCmd() *cobra.Command {
	var detach bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "rollback [PROJECT] [ID]",
		Short: "Deploy an earlier deployment's image again (default: the previous healthy one)",
		Example: `  rise deployment rollback secret-app
  rise d rollback secret-app 20261123-142501`,
		Args:              cobra.MaximumNArgs(2),
		ValidArgsFunction: completeDeployment,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, id, err := projectAndID(cmd, args, false)
			if err != nil {
				return err
			}
			if id == "" {
				id = api.RollbackPrevious
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			d, err := c.RollbackDeployment(cmd.Context(), project, id)
			if err != nil {
				return err
			}
			env.Printer.Infof("Rolling back '%s' to %s as deployment %s.", project, orDefault(d.RollbackOf, id), d.ID)
			return finishDeploy(cmd.Context(), env, c, d, detach, timeout)
		},
	}
	c.Flags().BoolVar(&detach, "detach", false, "do not wait for the rollout")
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the rollout")
	return c
}

func newDeploymentStopCmd() *cobra.Command {
	var group, environment string
	c := &cobra.Command{
		Use:   "stop [PROJECT] ID | stop [PROJECT] --group GROUP",
		Short: "Stop a deployment, or every deployment of a group (or cancel ones not deployed yet)",
		Example: `  rise deployment stop secret-app 20261123-142501
  rise d stop 20261123-142501
  rise d stop secret-app --group mr/27 -E staging`,
		Args:              cobra.RangeArgs(0, 2),
		ValidArgsFunction: completeDeployment,
		RunE: func(cmd *cobra.Command, args []string) error {
			if group != "" {
				return stopGroup(cmd, args, environment, group)
			}
			if len(args) == 0 {
				return exitcode.Usagef("no deployment id given: pass an ID, or --group to stop a whole group")
			}
			project, id, err := projectAndID(cmd, args, true)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			d, err := c.StopDeployment(cmd.Context(), project, id)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(d)
			}
			env.Printer.Successf("Stopping deployment %s of '%s' (%s).", d.ID, d.Project, d.State)
			return nil
		},
	}
	c.Flags().StringVar(&group, "group", "", "stop every running deployment of this group")
	c.Flags().StringVarP(&environment, "environment", "E", "", "the group's environment (default production)")
	return c
}

// stopGroup is `rise deployment stop [PROJECT] --group G`.
func stopGroup(cmd *cobra.Command, args []string, environment, group string) error {
	if len(args) > 1 {
		return exitcode.Usagef("with --group pass at most the project, not a deployment id")
	}
	project, env, c, err := projectClient(cmd, args)
	if err != nil {
		return err
	}
	res, err := c.StopGroup(cmd.Context(), project, api.StopGroupRequest{Environment: environment, Group: group})
	if err != nil {
		return err
	}
	if env.Printer.JSONMode() {
		return env.Printer.JSON(res.Deployments)
	}
	for _, d := range res.Deployments {
		env.Printer.Successf("Stopping deployment %s of '%s' (%s).", d.ID, d.Project, d.State)
	}
	return nil
}

func newDeploymentLogsCmd() *cobra.Command {
	var opts api.LogOptions
	c := &cobra.Command{
		Use:   "logs [PROJECT] ID",
		Short: "Print a deployment's logs",
		Example: `  rise deployment logs secret-app 20261123-142501
  rise d logs 20261123-142501 -f --tail 100 --since 5m`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeDeployment,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, id, err := projectAndID(cmd, args, true)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			out := env.Printer.Out
			enc := json.NewEncoder(out)
			err = c.DeploymentLogs(cmd.Context(), project, id, opts, func(l api.LogLine) error {
				if env.Printer.JSONMode() {
					return enc.Encode(l)
				}
				_, err := fmt.Fprintln(out, l.Text)
				return err
			})
			if err != nil && opts.Follow && cmd.Context().Err() != nil {
				return nil // Ctrl-C ends a followed stream normally
			}
			return err
		},
	}
	c.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep streaming new lines")
	c.Flags().IntVar(&opts.Tail, "tail", 0, "only the last N lines")
	c.Flags().StringVar(&opts.Since, "since", "", "only lines newer than a duration (5m) or RFC 3339 time")
	return c
}
