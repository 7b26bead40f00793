package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
)

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print a completion script for bash, zsh or fish. Project and team names complete
from the server you are logged in to.`,
		Example: `  source <(rise completion bash)
  rise completion zsh > "${fpath[1]}/_rise"
  rise completion fish > ~/.config/fish/completions/rise.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return exitcode.Usagef("unsupported shell %q: use bash, zsh or fish", args[0])
		},
	}
}

// completionTimeout bounds the API call made while the user presses TAB.
const completionTimeout = 3 * time.Second

func completeNames(cmd *cobra.Command, toComplete string, list func(ctx context.Context) ([]string, error)) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	names, err := list(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func projectNames(cmd *cobra.Command) func(ctx context.Context) ([]string, error) {
	return completionNames(cmd, (*api.Client).AllProjects, func(p api.Project) string { return p.Name })
}

func teamNames(cmd *cobra.Command) func(ctx context.Context) ([]string, error) {
	return completionNames(cmd, (*api.Client).AllTeams, func(t api.Team) string { return t.Name })
}

// completionNames lists the names of what list returns, for completion.
func completionNames[T any](cmd *cobra.Command, list func(*api.Client, context.Context) ([]T, error), name func(T) string) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		env := envOf(cmd)
		if env == nil {
			return nil, nil
		}
		c, err := env.Client()
		if err != nil {
			return nil, err
		}
		items, err := list(c, ctx)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = name(it)
		}
		return names, nil
	}
}

// completeProjects completes the first argument with project names.
func completeProjects(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeNames(cmd, toComplete, projectNames(cmd))
}

// completeTeams completes the first argument with team names.
func completeTeams(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeNames(cmd, toComplete, teamNames(cmd))
}

// completeOwners completes --owner with "team:<name>" values (and "user:").
func completeOwners(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return completeNames(cmd, toComplete, func(ctx context.Context) ([]string, error) {
		ts, err := teamNames(cmd)(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(ts)+1)
		if env := envOf(cmd); env != nil {
			if c, err := env.Client(); err == nil {
				if me, err := c.Me(ctx); err == nil {
					out = append(out, "user:"+me.Name)
				}
			}
		}
		for _, t := range ts {
			out = append(out, "team:"+t)
		}
		return out, nil
	})
}

// completeDeployment completes [PROJECT] ID: project names first, then the
// project's deployment ids (newest first).
func completeDeployment(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return completeProjects(cmd, args, toComplete)
	case 1:
		return completeNames(cmd, toComplete, func(ctx context.Context) ([]string, error) {
			env := envOf(cmd)
			if env == nil {
				return nil, nil
			}
			c, err := env.Client()
			if err != nil {
				return nil, err
			}
			l, err := c.ListDeployments(ctx, args[0], "", 0, "")
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(l.Deployments))
			for i, d := range l.Deployments {
				ids[i] = d.ID
			}
			return ids, nil
		})
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
