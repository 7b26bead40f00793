// Package deploy serves the deployments API, runs the deployment controller
// (level-based reconcile of every non-terminal deployment with the runtime
// plugin, leader-elected through a lease in PostgreSQL) and cleans up
// projects being deleted.
//
// Wiring (server/wire): build one Service with New, mount it on /api/v1
// (Service.Routes) and register it as a controller (Service.Run). The edge
// router looks up routes through Service.Route. Every SQL statement on
// deployments lives in repo.go; reconcile.go is the state machine's driver,
// unit-tested against an in-memory repository.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/metrics"
	"github.com/riseplatform/rise/server/store"
	"github.com/riseplatform/rise/server/variables"
)

// RuntimeFactory returns the configured runtime (normally a plugin client
// from the plugin host). It is called for every operation, so the host may
// restart crashed plugins behind it.
type RuntimeFactory func(ctx context.Context) (sdk.Runtime, error)

// ImagePolicy checks the image references of a project's deployments.
// Errors are shown to the caller (*httpx.Error values keep their status).
type ImagePolicy interface {
	// Resolve checks that project may deploy ref and pins it to its digest.
	Resolve(ctx context.Context, project, ref string) (string, error)
	// CheckPushed checks an image a client reports as pushed for project.
	CheckPushed(ctx context.Context, project, ref string) error
}

// Options configure the service and its controller.
type Options struct {
	Store   *store.Store   // required
	Runtime RuntimeFactory // required for the controller and logs
	Log     hclog.Logger
	// Metrics records the controller's queue depth and reconcile
	// durations (nil records nothing).
	Metrics *metrics.Metrics

	// AppURL returns the URL a project is served at (https://<p>.<domain>).
	AppURL func(project string) string
	// Images decides which image references a project may deploy and pins
	// them to digests (normally *images.Policy). Nil accepts any reference
	// as given (tests).
	Images ImagePolicy
	// PullCredentials returns read-only credentials for a project's
	// repository, or nil for none. They go to the runtime only with an
	// image of that repository.
	PullCredentials func(ctx context.Context, project string) (*sdk.Credentials, error)
	// Variables is the projects' stored configuration (normally
	// *variables.Service): every new deployment snapshots it, and the
	// controller hands the snapshot's values to the runtime. Nil: no
	// stored variables (deployments run with their workload env only).
	Variables Variables
	// Domains returns a project's verified custom domains (by project id)
	// for the runtime (sdk.DeployRequest.Domains). Optional.
	Domains func(ctx context.Context, projectID string) ([]string, error)
	// CleanupProject removes a deleted project's registry repository (and
	// anything else outside the runtime). Optional.
	CleanupProject func(ctx context.Context, project string) error
	// BrowserIdentity authenticates a request by the browser session
	// cookie (server/auth's IdentityFromRequest): the event stream accepts
	// it, since EventSource cannot send an Authorization header. Nil: the
	// stream takes bearer tokens only.
	BrowserIdentity func(*http.Request) (*identity.Identity, error)

	// BuildTimeout fails deployments with no build/push progress for this
	// long (default 30m). DeployTimeout fails deployments that do not turn
	// healthy in time (default 5m).
	BuildTimeout, DeployTimeout time.Duration
	// DeployPoll is how often a Deploying deployment is checked (default
	// 1s); HealthInterval how often a running one is (default 10s).
	DeployPoll, HealthInterval time.Duration
	// RetryMin is the wait before retrying a deployment whose reconcile
	// failed (a runtime or plugin error); it doubles with every further
	// failure up to RetryMax (defaults: 2×DeployPoll and 1m).
	RetryMin, RetryMax time.Duration
	// Resync re-reads every deployment even without events (default 1m).
	Resync time.Duration
	// LeaseTTL is the leader lease duration (default 15s); a crashed
	// leader's lease is taken over after it.
	LeaseTTL time.Duration
	// Workers bounds concurrent reconciles (default 32).
	Workers int
	// Holder names this replica in the lease (default host-pid-random).
	Holder string
	// WaitTimeout bounds a long-poll (?wait_for_change) (default 25s).
	WaitTimeout time.Duration
}

// Variables is what deployments need of the projects' stored variables.
type Variables interface {
	// ValidateSecrets checks a deployment's own secret values.
	ValidateSecrets(m map[string]string) error
	// Snapshot records, in the transaction creating a deployment, the
	// variable versions it uses.
	Snapshot(ctx context.Context, tx pgx.Tx, s variables.Snapshot) error
	// Resolve returns the values a deployment (row id) was created with,
	// in precedence order (later ones win).
	Resolve(ctx context.Context, deployment string) ([]variables.Value, error)
	// DeleteEnvironment removes, in the transaction deleting environment
	// env of a project, the environment's own variables.
	DeleteEnvironment(ctx context.Context, tx pgx.Tx, projectID, env string) error
}

func (o *Options) defaults() error {
	if o.Store == nil {
		return errors.New("deploy: no store")
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.BuildTimeout, 30*time.Minute)
	def(&o.DeployTimeout, 5*time.Minute)
	def(&o.DeployPoll, time.Second)
	def(&o.HealthInterval, 10*time.Second)
	def(&o.RetryMin, 2*o.DeployPoll)
	def(&o.RetryMax, time.Minute)
	def(&o.Resync, time.Minute)
	def(&o.LeaseTTL, 15*time.Second)
	def(&o.WaitTimeout, 25*time.Second)
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	return nil
}

func (o *Options) runtime(ctx context.Context) (sdk.Runtime, error) {
	if o.Runtime == nil {
		return nil, errors.New("no runtime configured (add a runtime block to the server config)")
	}
	rt, err := o.Runtime(ctx)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return rt, nil
}
