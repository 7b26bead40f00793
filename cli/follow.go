package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
)

// followDeployment waits (long-polling, no busy loop) until d is Healthy or
// terminal, showing a "Deploying 'p' ..." step. It returns an exit-code
// error for Failed (12), other terminal states (1), a timeout (13), and on
// interruption cancels the deployment before returning (130).
func followDeployment(ctx context.Context, env *clictx.Env, c *api.Client, d *api.Deployment, timeout time.Duration) (*api.Deployment, error) {
	step := env.Printer.Start(fmt.Sprintf("Deploying '%s' ...", d.Project))
	defer step.Done()
	wctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		switch {
		case d.State == api.StateHealthy:
			step.Done()
			return d, nil
		case d.State == api.StateFailed:
			step.Done()
			return d, exitcode.New(exitcode.RolloutFailed, "Deployment %s of '%s' failed: %s", d.ID, d.Project, orDefault(d.Message, "no reason given"))
		case d.Terminal():
			step.Done()
			return d, exitcode.New(exitcode.Error, "Deployment %s of '%s' ended %s%s", d.ID, d.Project, d.State, suffix(": ", d.Message))
		}
		next, err := c.WaitDeployment(wctx, d.Project, d.ID, d.Version)
		if err != nil {
			step.Done()
			switch {
			case ctx.Err() != nil:
				cancelDeployment(env, c, d)
				return d, exitcode.Wrap(exitcode.Interrupted, errors.New("Interrupted"))
			case wctx.Err() != nil:
				return d, exitcode.New(exitcode.TimedOut, "Timed out after %s waiting for deployment %s of '%s' (state %s); it keeps going on the server: `rise deployment show %s %s --follow`",
					timeout, d.ID, d.Project, d.State, d.Project, d.ID)
			}
			return d, fmt.Errorf("follow deployment %s: %w", d.ID, err)
		}
		if next.State != d.State {
			step.Update(fmt.Sprintf("Deploying '%s' ... (%s)", d.Project, next.State))
		}
		d = next
	}
}

// cancelDeployment asks the server to cancel d after Ctrl-C.
func cancelDeployment(env *clictx.Env, c *api.Client, d *api.Deployment) {
	if d.Terminal() || d.State == api.StateHealthy {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.StopDeployment(ctx, d.Project, d.ID); err != nil {
		env.Printer.Warnf("could not cancel deployment %s: %v", d.ID, err)
		return
	}
	env.Printer.Infof("Cancelled deployment %s of '%s'.", d.ID, d.Project)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}
