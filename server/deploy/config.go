package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/variables"
)

// Variables rise sets in every app (reserved: projects cannot set them).
const (
	EnvProject    = "RISE_PROJECT"
	EnvDeployment = "RISE_DEPLOYMENT_ID"
	EnvGroup      = "RISE_DEPLOYMENT_GROUP"
	EnvAppURL     = "RISE_APP_URL"
)

// configure fills w's Env and SecretEnv for deployment d, by precedence:
// the project's stored variables as snapshotted, the deployment's own
// workload env (rise.hcl, -e), its own secret values (--secret-env), then
// rise's RISE_* variables. A name is either plain or secret, never both.
// It returns a redactor for the secret values.
func (c call) configure(ctx context.Context, d *row, w *sdk.Workload) (redactor, error) {
	env, secret := map[string]string{}, map[string]string{}
	put := func(k, v string, isSecret bool) {
		if isSecret {
			secret[k] = v
			delete(env, k)
		} else {
			env[k] = v
			delete(secret, k)
		}
	}
	var vals []variables.Value
	if c.o.Variables != nil {
		var err error
		if vals, err = c.o.Variables.Resolve(ctx, d.UUID); err != nil {
			return nil, fmt.Errorf("variables of %s/%s: %w", d.Project, d.ID, err)
		}
	}
	for _, v := range vals {
		if !v.DeploymentOnly {
			put(v.Name, v.Value, v.Secret)
		}
	}
	for k, v := range w.Env {
		put(k, v, false)
	}
	for _, v := range vals {
		if v.DeploymentOnly {
			put(v.Name, v.Value, true)
		}
	}
	put(EnvProject, d.Project, false)
	put(EnvDeployment, d.ID, false)
	put(EnvGroup, d.Group, false)
	if c.o.AppURL != nil && d.Group == api.DefaultGroup {
		put(EnvAppURL, c.o.AppURL(d.Project), false)
	}
	w.Env, w.SecretEnv = env, nil
	if len(secret) > 0 {
		w.SecretEnv = secret
	}
	return newRedactor(secret), nil
}

// redactor hides secret values in text (runtime errors and progress that
// end up in deployment messages and the server log).
type redactor []string

// minRedact: shorter values are not searched for (replacing "1" in every
// message would garble it and hide nothing).
const minRedact = 3

func newRedactor(secret map[string]string) redactor {
	var r redactor
	for _, v := range secret {
		if len(v) >= minRedact {
			r = append(r, v)
		}
	}
	// Longest first, so a value containing another is hidden whole.
	sort.Slice(r, func(i, j int) bool { return len(r[i]) > len(r[j]) })
	return r
}

func (r redactor) String(s string) string {
	for _, v := range r {
		s = strings.ReplaceAll(s, v, api.Masked)
	}
	return s
}

// Err hides secret values in err's message, keeping err for errors.Is/As.
func (r redactor) Err(err error) error {
	if err == nil || len(r) == 0 {
		return err
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
