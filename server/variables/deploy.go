package variables

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/server/keyring"
)

// aad binds a sealed value to its project, scope ("" = project-wide) and
// name: a value copied to another row does not open.
func aad(projectID, scope, name string) []byte {
	b := "rise variable v1\x00" + projectID + "\x00" + name
	if scope != "" {
		b += "\x00" + scope
	}
	return []byte(b)
}

func (s *Service) seal(ctx context.Context, projectID, scope, name, value string) (keyring.Sealed, error) {
	if s.o.Keyring == nil {
		return keyring.Sealed{}, errNoKey
	}
	return s.o.Keyring.Seal(ctx, []byte(value), aad(projectID, scope, name))
}

func (s *Service) open(ctx context.Context, v *version) (string, error) {
	if s.o.Keyring == nil {
		return "", errNoKey
	}
	b, err := s.o.Keyring.Open(ctx, v.Sealed, aad(v.ProjectID, v.Environment, v.Name))
	if err != nil {
		return "", fmt.Errorf("variable %s: %w", v.Name, err)
	}
	return string(b), nil
}

// Snapshot says which variable versions a new deployment uses.
type Snapshot struct {
	ProjectID  string
	Deployment string // the new deployment's row id
	// Environment the deployment runs in: it gets the project-wide
	// variables overlaid by the environment's own.
	Environment string
	// From: a rollback copies exactly the versions of this deployment (row
	// id). Otherwise the current variables Environment sees are used, plus
	// the deployment-only values of Carry (a redeploy's source), plus
	// Secrets.
	From, Carry string
	// Secrets are deployment-only values (rise deploy --secret-env).
	Secrets   map[string]string
	CreatedBy string
}

// ValidateSecrets checks deployment-only values before a deployment is
// created (the same rules as stored variables).
func (s *Service) ValidateSecrets(m map[string]string) error {
	if len(m) > names.MaxVariables {
		return fmt.Errorf("%d secret values; at most %d", len(m), names.MaxVariables)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := names.ValidateVariable(k, m[k]); err != nil {
			return err
		}
	}
	if len(m) > 0 && s.o.Keyring == nil {
		return errNoKey
	}
	return nil
}

// Snapshot records, in the deployment's creating transaction, the versions
// it uses.
func (s *Service) Snapshot(ctx context.Context, tx pgx.Tx, sn Snapshot) error {
	if sn.From != "" {
		return snapshotFrom(ctx, tx, sn.Deployment, sn.From, false)
	}
	if sn.Environment == "" {
		return errors.New("snapshot variables: no environment given")
	}
	if err := snapshotCurrent(ctx, tx, sn.ProjectID, sn.Environment, sn.Deployment); err != nil {
		return err
	}
	if sn.Carry != "" {
		if err := snapshotFrom(ctx, tx, sn.Deployment, sn.Carry, true); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(sn.Secrets)) {
		sealed, err := s.seal(ctx, sn.ProjectID, "", k, sn.Secrets[k])
		if err != nil {
			return err
		}
		v := &version{ProjectID: sn.ProjectID, Name: k, Kind: api.KindProtected, DeploymentOnly: true, Sealed: sealed, CreatedBy: sn.CreatedBy}
		if err := insertDeploymentOnly(ctx, tx, sn.Deployment, v); err != nil {
			return err
		}
	}
	return nil
}

// DeleteEnvironment removes, in tx (which deletes environment env of the
// project), the environment's own variables.
func (s *Service) DeleteEnvironment(ctx context.Context, tx pgx.Tx, projectID, env string) error {
	return deleteScope(ctx, tx, projectID, env)
}

// Value is one variable a deployment runs with.
type Value struct {
	Name, Value string
	// Secret: the runtime must keep it out of plain config (secret and
	// protected variables, deployment-only values).
	Secret bool
	// DeploymentOnly: given with the deployment (rise deploy --secret-env).
	DeploymentOnly bool
}

// Resolve opens the values deployment (row id) was created with, in
// precedence order: stored variables, then deployment-only values (later
// ones win). A deployment without variables needs no key.
func (s *Service) Resolve(ctx context.Context, deployment string) ([]Value, error) {
	vs, err := s.repo.OfDeployment(ctx, deployment)
	if err != nil {
		return nil, err
	}
	out := make([]Value, 0, len(vs))
	for _, v := range vs {
		val, err := s.open(ctx, v)
		if err != nil {
			return nil, err
		}
		out = append(out, Value{Name: v.Name, Value: val, Secret: v.Kind.Sensitive() || v.DeploymentOnly,
			DeploymentOnly: v.DeploymentOnly})
	}
	return out, nil
}

// CheckKeys is the start-up check: every KEK that wraps stored values must
// be configured and must really unwrap them (one sample per key). It fails
// when values exist and no key is configured.
func (s *Service) CheckKeys(ctx context.Context) error {
	uses, err := s.repo.KeysInUse(ctx)
	if err != nil {
		return err
	}
	for _, u := range uses {
		if s.o.Keyring == nil {
			return fmt.Errorf("%d project variable values are encrypted in the database but no encryption key is configured: "+
				"add the encryption block they were written with to the server config (docs/secrets.md)", u.Count)
		}
		if !s.o.Keyring.Has(u.KeyID) {
			return fmt.Errorf("%d project variable values are wrapped with key %s, which is not configured (configured: %v): "+
				"add it (old_keys / old_key_ids) and run `rise server rotate-keys`", u.Count, u.KeyID, s.o.Keyring.IDs())
		}
		if _, err := s.o.Keyring.Open(ctx, u.Sample, u.AAD); err != nil {
			return fmt.Errorf("the configured key %s cannot decrypt the stored values: %w", u.KeyID, err)
		}
	}
	return nil
}

// RotateKeys re-wraps every data key that is not under the current KEK
// with it, in batches; it returns how many it re-wrapped. Values are not
// re-encrypted. Afterwards old keys may be removed from the config.
func (s *Service) RotateKeys(ctx context.Context) (int, error) {
	if s.o.Keyring == nil {
		return 0, errNoKey
	}
	total := 0
	for {
		n, err := s.repo.rewrapBatch(ctx, s.o.Keyring.CurrentID(), 200, func(sl keyring.Sealed) (keyring.Sealed, error) {
			return s.o.Keyring.Rewrap(ctx, sl)
		})
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		s.o.Log.Info("re-wrapped data keys", "count", total)
	}
}
