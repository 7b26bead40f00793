// Package variables serves a project's stored configuration — plain
// variables, secrets and protected secrets — under
// /api/v1/projects/{project}/env, keeps every value sealed at rest
// (server/keyring), records which versions each deployment was created
// with (Snapshot) and hands them to the deployment controller (Resolve).
//
// Who may do what (on top of the project rule in server/store):
//   - the project's people with write access (owner, team members, admins)
//     list variables and set and unset them; secret values are masked;
//   - owners (the owner user, team owners, admins) may also reveal secret
//     values (audited); protected values are never returned to anyone;
//   - service accounts deploy with the variables but cannot read them.
//
// Scopes: a variable is project-wide, or an environment's own
// (?environment=E). A deployment in environment E runs with the
// project-wide variables overlaid by E's own (same name: E's wins).
//
// Every SQL statement on the variables and deployment_variables tables is
// in this package (repo.go).
package variables

import (
	"errors"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/environments"
	"github.com/riseplatform/rise/server/keyring"
	"github.com/riseplatform/rise/server/store"
)

// Auditor records audit events of a request (*audit.Recorder).
type Auditor interface {
	RecordRequest(r *http.Request, e audit.Event)
}

// Options configure the service.
type Options struct {
	Store *store.Store // required
	// Keyring seals and opens values. Nil: no encryption block is
	// configured, and variables cannot be set or deployed.
	Keyring *keyring.Keyring
	Audit   Auditor // optional
	Log     hclog.Logger
}

// Service is the variables API and the deployments' configuration source.
type Service struct {
	o    Options
	repo *repo
	envs *environments.Store
}

// New returns the service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("variables: no store")
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	return &Service{o: o, repo: &repo{pool: o.Store.Pool()}, envs: environments.New(o.Store.Pool())}, nil
}

// Audit actions recorded by this package (besides the API middleware's
// generic events), each with the variable names, never values.
const (
	ActionSet    = "variable.set"
	ActionUnset  = "variable.unset"
	ActionReveal = "variable.reveal"
)

// errNoKey: no encryption block configured.
var errNoKey = errors.New("no encryption key is configured: add an encryption block to server.hcl (docs/secrets.md)")
