// Package cli is the rise command-line interface: the root cobra command,
// global flags, and the project, team, deployment, login, version,
// completion and service-account commands.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/cli/settings"
	"github.com/riseplatform/rise/core/version"
)

// Stdio is the process environment a CLI invocation runs in.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	Getenv   func(string) string
	// InTTY and ErrTTY say whether In and Err are terminals (prompts,
	// spinners, colour); Main detects them, tests set them.
	InTTY, ErrTTY bool
}

// Main runs rise with os.Args and the process's stdio and returns the exit
// code. extra commands (server, plugin, build…) are added to the root.
func Main(extra ...*cobra.Command) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	io := Stdio{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv,
		InTTY: output.IsTerminal(os.Stdin), ErrTTY: output.IsTerminal(os.Stderr),
	}
	return Run(ctx, os.Args[1:], io, extra...)
}

// Help groups of the root command; extra commands passed to Main may set
// their GroupID to one of these.
const (
	GroupApps     = "apps"
	GroupAccount  = "account"
	GroupPlatform = "platform" // running rise itself: server, plugins
)

// globals are the root's persistent flags.
type globals struct {
	format  string
	quiet   bool
	noColor bool
}

// Run executes one rise invocation and returns its exit code. Errors are
// printed to Err for people, or as a JSON document on Out with -o json.
func Run(ctx context.Context, args []string, sio Stdio, extra ...*cobra.Command) int {
	if sio.Getenv == nil {
		sio.Getenv = func(string) string { return "" }
	}
	g := &globals{}
	env := &clictx.Env{
		Printer: &output.Printer{Out: sio.Out, Err: sio.Err, Format: output.FormatTable},
		Stdin:   sio.In, StdinTTY: sio.InTTY, Getenv: sio.Getenv, Version: version.Version,
	}
	// Settings are loaded up front so that shell completion (which skips
	// the pre-run hooks) can reach the server too. Errors surface only in
	// commands that need the stored login.
	loadSettings(env, sio.Getenv)
	root := newRoot(g, env, sio, extra...)
	root.SetArgs(args)
	root.SetIn(sio.In)
	root.SetOut(sio.Out)
	root.SetErr(sio.Err)
	err := root.ExecuteContext(clictx.With(ctx, env))
	if err == nil {
		return exitcode.OK
	}
	if ctx.Err() != nil && exitcode.CodeOf(err) == exitcode.Error {
		err = exitcode.Wrap(exitcode.Interrupted, err)
	}
	err = cobraSuggestions(err)
	code := exitcode.CodeOf(err)
	if jsonRequested(g, args) {
		_ = env.Printer.JSON(exitcode.ToJSON(err))
		return code
	}
	env.Printer.Errorln(exitcode.Message(err))
	if code == exitcode.Usage {
		fmt.Fprintf(sio.Err, "Run '%s --help' for usage.\n", commandPath(root, args))
	}
	return code
}

// cobraSuggestions turns cobra's "Did you mean this?\n\tproject" block
// into suggestions, so unknown commands read like every other error:
// unknown command "porject" for "rise". Did you mean 'project'?
func cobraSuggestions(err error) error {
	msg, block, ok := strings.Cut(err.Error(), "\n\nDid you mean this?\n")
	if !ok {
		return err
	}
	var sugg []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			sugg = append(sugg, l)
		}
	}
	return &exitcode.CodeError{Code: exitcode.CodeOf(err), Err: errors.New(msg), Suggestions: sugg}
}

// jsonRequested reports -o json even when flag parsing failed.
func jsonRequested(g *globals, args []string) bool {
	if g.format == output.FormatJSON {
		return true
	}
	for i, a := range args {
		switch {
		case a == "-ojson" || a == "--output=json" || a == "-o=json":
			return true
		case (a == "-o" || a == "--output") && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
}

func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return root.Name()
	}
	return c.CommandPath()
}

func newRoot(g *globals, env *clictx.Env, sio Stdio, extra ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:   "rise",
		Short: "Deploy container apps to your rise platform",
		Long: `rise builds your app into a container image, pushes it with short-lived credentials
and runs it at https://<project>.<domain>.`,
		Example: `  rise login
  rise project create my-app
  rise deploy`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Version:           version.Version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return setup(g, env, sio)
		},
	}
	root.SetVersionTemplate("rise version {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&env.FlagURL, "url", "", "rise server URL (default: RISE_URL, the logged-in server, or "+settings.DefaultURL+")")
	pf.StringVarP(&g.format, "output", "o", output.FormatTable, "output format: table or json")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only data and errors")
	pf.BoolVar(&g.noColor, "no-color", false, "never use colour (also: NO_COLOR=1)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitcode.Wrap(exitcode.Usage, err) })

	root.AddGroup(&cobra.Group{ID: GroupApps, Title: "Apps:"}, &cobra.Group{ID: GroupAccount, Title: "Account:"},
		&cobra.Group{ID: GroupPlatform, Title: "Platform:"})
	for _, c := range []*cobra.Command{newProjectCmd(), newEnvironmentCmd(), newDeploymentCmd(), newDeployCmd(), newRunCmd(), newEnvCmd(), newServiceAccountCmd(), newDomainCmd()} {
		c.GroupID = GroupApps
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newLoginCmd(), newLogoutCmd(), newTeamCmd(), newWhoamiCmd(), addProjectFlag(newAuditCmd())} {
		c.GroupID = GroupAccount
		root.AddCommand(c)
	}
	root.AddCommand(newVersionCmd(), newCompletionCmd())
	for _, c := range extra {
		if c != nil {
			root.AddCommand(c)
		}
	}
	usageArgs(root)
	return root
}

// setup resolves global flags into env before any command runs.
func setup(g *globals, env *clictx.Env, sio Stdio) error {
	switch g.format {
	case output.FormatTable, output.FormatJSON:
	default:
		return exitcode.Usagef("invalid --output %q: use table or json", g.format)
	}
	p := env.Printer
	p.Format, p.Quiet = g.format, g.quiet
	p.TTY = sio.ErrTTY
	p.Color = sio.ErrTTY && !g.noColor && sio.Getenv("NO_COLOR") == "" && sio.Getenv("TERM") != "dumb"
	return nil
}

func loadSettings(env *clictx.Env, getenv func(string) string) {
	env.Settings = &settings.Settings{}
	path, err := settings.Path(getenv)
	if err != nil {
		env.SettingsErr = err
		return
	}
	env.ConfigPath = path
	s, err := settings.Load(path)
	if err != nil {
		env.SettingsErr = err
		return
	}
	env.Settings = s
}

// usageArgs makes every command's positional-argument errors usage errors
// (exit code 2).
func usageArgs(c *cobra.Command) {
	if c.Args != nil {
		inner := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			return exitcode.Wrap(exitcode.Usage, inner(cmd, args))
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

// envOf returns the command's Env.
func envOf(cmd *cobra.Command) *clictx.Env { return clictx.From(cmd.Context()) }

// flagChanged reports whether any of the named flags was set.
func flagChanged(fs *pflag.FlagSet, names ...string) bool {
	for _, n := range names {
		if fs.Changed(n) {
			return true
		}
	}
	return false
}

// errCancelled is returned when the user declines a confirmation.
var errCancelled = exitcode.New(exitcode.Cancelled, "Cancelled.")

// confirm asks a yes/no question on a terminal. Without a terminal it never
// prompts and returns a usage error naming the flag to pass.
func confirm(env *clictx.Env, question, flag string) error {
	if !env.StdinTTY {
		return exitcode.Usagef("refusing to continue without confirmation: pass %s (stdin is not a terminal)", flag)
	}
	answer, err := prompt(env, question+" [y/N] ")
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return nil
	}
	return errCancelled
}
