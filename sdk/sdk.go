// Package sdk is the public plugin SDK of rise.
//
// A plugin is a program that serves one or more components: builders (turn a
// source directory into an OCI image), registries (hand out short-lived,
// repository-scoped credentials) and runtimes (run an image and report its
// health). A component is a plain Go struct whose exported `hcl:"..."` fields
// are its configuration schema; it implements exactly one of [Builder],
// [Registry] or [Runtime], plus any optional capability interfaces.
//
// Plugin authors import only this package (and sdk/sdktest in tests). The
// package imports nothing from rise's core, server or CLI.
package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/riseplatform/rise/sdk/apphost"
)

// ProtocolVersion is the plugin protocol version spoken by this SDK: the
// go-plugin protocol version negotiated at the handshake. Version 2 runs
// Validate before Provision, calls Cleanup, carries the component kind in
// ValidateConfig and attribute paths in diagnostics. The protobuf package
// stays rise.plugin.v1: its messages only grew.
const ProtocolVersion = 2

// Kind is what a component does.
type Kind string

const (
	KindBuilder  Kind = "builder"
	KindRegistry Kind = "registry"
	KindRuntime  Kind = "runtime"
)

// ComponentID names a component: its kind and name ("runtime/docker"). A
// plugin may serve components of different kinds under the same name.
type ComponentID struct {
	Kind Kind
	Name string
}

// String returns "kind/name".
func (id ComponentID) String() string { return string(id.Kind) + "/" + id.Name }

// ParseComponentID parses "kind/name".
func ParseComponentID(s string) (ComponentID, error) {
	k, name, ok := strings.Cut(s, "/")
	id := ComponentID{Kind: Kind(k), Name: name}
	switch {
	case !ok || name == "":
		return ComponentID{}, fmt.Errorf("component %q: want kind/name, e.g. runtime/docker", s)
	case id.Kind != KindBuilder && id.Kind != KindRegistry && id.Kind != KindRuntime:
		return ComponentID{}, fmt.Errorf("component %q: kind must be builder, registry or runtime", s)
	}
	return id, nil
}

// Plugin describes a plugin binary: its name, version and components.
type Plugin struct {
	Name       string
	Version    string
	Components []Component
}

// Component is one builder, registry or runtime served by a plugin.
type Component struct {
	Name        string
	Description string
	// New returns a fresh, zero-configured value. Its exported hcl-tagged
	// fields are the config schema; the value must implement exactly one of
	// Builder, Registry or Runtime. New is called once per configuration.
	New func() any
}

// The lifecycle of a component value, run by the SDK once per configuration
// (values are cached per config hash inside the plugin process):
//
//  1. New, then the config is decoded into the value's hcl-tagged fields.
//  2. Validate (if implemented) checks the decoded config.
//  3. Provision (if implemented) sets the value up, only after Validate
//     succeeded.
//  4. The value serves calls until it is evicted from the cache or the
//     plugin process shuts down; then Cleanup (if implemented) runs once,
//     after the value's last in-flight call. Cleanup also runs when
//     Provision fails, to release what it acquired before failing.
//
// Plugins never call Validate or Provision themselves.

// Validator is implemented by components that check their decoded
// configuration. Validate is pure: no I/O, no clients, no changes to the
// value; unset optional attributes are still zero (defaults come in
// Provision). It runs before Provision and on `rise config check`.
//
// A plain error becomes a diagnostic on the whole config block. Wrap an
// error with AttrError (several joined with errors.Join), or return
// Diagnostics with a Path, to point at the attribute's line in server.hcl.
type Validator interface {
	Validate() error
}

// Provisioner is implemented by components that need set-up after their
// configuration is validated: defaults, clients, keys. An error marked
// Permanent is reported as a config diagnostic; others are retryable.
type Provisioner interface {
	Provision(ctx context.Context) error
}

// Cleaner is implemented by components that hold resources (clients,
// connections, temporary files). Cleanup releases what Provision acquired.
// The SDK calls it once per provisioned value: when the value is evicted
// from the plugin's instance cache (after its last in-flight call) and when
// the plugin process shuts down. Its error is only logged.
type Cleaner interface {
	Cleanup() error
}

// ---- Builders --------------------------------------------------------------

// Builder turns a source directory into an OCI image. Builders run where the
// build runs (the developer's machine or CI), launched by the CLI.
type Builder interface {
	// Build builds req.Dir. When req.Target is set it also pushes the image
	// there with the given credentials and returns the pushed digest.
	Build(ctx context.Context, req *BuildRequest, ui UI) (*Artifact, error)
	// Detect reports whether this builder can build dir (auto-detection).
	Detect(ctx context.Context, dir string) (*Detection, error)
}

// BuildRequest is one build.
type BuildRequest struct {
	Project   string            // project name, for labels and defaults
	Dir       string            // absolute path of the source directory
	Image     string            // image reference to tag the result with (repo:tag)
	Target    *PushTarget       // push after building when set
	Platform  string            // e.g. linux/amd64; empty = the engine's default
	BuildArgs map[string]string // --build-arg / buildpack env
	Env       map[string]string // environment for the build tools (proxies, SSL_CERT_FILE, BUILDKIT_HOST)
	NoCache   bool
}

// PushTarget is where a builder pushes the image it built.
type PushTarget struct {
	Image       string // repository:tag to push
	Credentials *Credentials
}

// Detection is a builder's answer to "can you build this directory?".
type Detection struct {
	OK         bool
	Confidence int    // higher wins when several builders say OK
	Reason     string // e.g. "found Dockerfile"
}

// ---- Registries ------------------------------------------------------------

// Registry hands out short-lived credentials scoped to one repository.
// Registries run in the server.
type Registry interface {
	Credentials(ctx context.Context, req *CredentialsRequest) (*Credentials, error)
}

// CredentialsRequest asks for credentials on a project's repository.
type CredentialsRequest struct {
	Project string        // project name; the registry maps it to a repository
	Push    bool          // push+pull when true, pull only otherwise
	TTL     time.Duration // requested lifetime; zero = the registry's default
	Subject string        // who the credentials are for (audit), e.g. "user:alice"
}

// Credentials are registry credentials for one repository.
type Credentials struct {
	Registry   string // host[:port] for docker login
	Repository string // full repository reference, e.g. 127.0.0.1:5000/rise/my-app
	Username   string
	Password   string
	ExpiresAt  time.Time
}

// RepositoryManager is an optional registry capability: create and delete a
// project's repository (e.g. ECR). Both are idempotent.
type RepositoryManager interface {
	EnsureRepository(ctx context.Context, project string) error
	DeleteRepository(ctx context.Context, project string) error
}

// TokenIssuer is an optional registry capability for registries that
// delegate authentication to rise (distribution's token authentication): the
// rise server's token endpoint (the registry's realm) hands each token request
// to the registry plugin, which checks the basic-auth credentials it issued
// through Credentials and returns a registry token for the granted scopes.
type TokenIssuer interface {
	IssueToken(ctx context.Context, req *TokenRequest) (*Token, error)
}

// TokenRequest is a registry token request (GET realm?service=..&scope=..).
type TokenRequest struct {
	Username string
	Password string
	Service  string
	Scopes   []string // "repository:rise/app:push,pull"
	ClientID string
}

// Token is a registry bearer token.
type Token struct {
	Token     string
	ExpiresIn time.Duration
	IssuedAt  time.Time
}

// Resolver is an optional registry capability: resolve an image reference
// (tag) to its content digest so deployments can pin it.
type Resolver interface {
	Resolve(ctx context.Context, ref string) (*Artifact, error)
}

// ---- Runtimes --------------------------------------------------------------

// Runtime runs images. Runtimes run in the server, driven by the deployment
// controller. They keep no state between calls: what they need later goes into
// Deployment.State, which the host stores and hands back.
type Runtime interface {
	// Deploy starts req.Artifact for req.DeploymentID. It is idempotent per
	// deployment id: the host retries it after a crash.
	Deploy(ctx context.Context, req *DeployRequest, ui UI) (*Deployment, error)
	// Status observes the deployment's actual state (level-based).
	Status(ctx context.Context, d *Deployment) (*Status, error)
	// Stop stops the deployment. Stopping a stopped or missing deployment
	// succeeds.
	Stop(ctx context.Context, d *Deployment, ui UI) error
}

// DeployRequest is one deployment of an artifact.
type DeployRequest struct {
	DeploymentID    string // e.g. 20261123-142501, unique per project
	Project         string
	Group           string // deployment group, "default" unless set
	Visibility      string // "public" or "private"
	Artifact        Artifact
	PullCredentials *Credentials // read-only, short-lived; nil for public images
	Workload        Workload
	Previous        *Deployment // the group's currently active deployment, if any
	// Domains are the project's verified custom domains (lower-case IDNA
	// form), served at the app's default group: e.g. Ingress hosts.
	Domains []string
	// Environment is the project's environment ("" = "production").
	// apphost.Target{Project, Environment, Group} names the app's host.
	Environment string
}

// Target is the app host target the request deploys to (sdk/apphost).
func (r *DeployRequest) Target() apphost.Target {
	return apphost.Target{Project: r.Project, Environment: r.Environment, Group: r.Group}
}

// Workload is how an app runs: the runtime-independent part of deploy config.
type Workload struct {
	Port       uint32 // container port the app listens on
	Replicas   uint32
	Env        map[string]string
	SecretEnv  map[string]string // values the runtime must keep out of plain config
	Resources  Resources
	Command    []string
	HealthPath string // HTTP path probed for health; empty = TCP/port check
}

// Resources are limits in Kubernetes notation ("500m", "512Mi").
type Resources struct {
	CPU    string
	Memory string
}

// Artifact is an OCI image produced by a build.
type Artifact struct {
	Repository string // e.g. 127.0.0.1:5000/rise/my-app
	Tag        string
	Digest     string // sha256:...
	Platform   string
	Local      bool // only in the local engine, not pushed
	Labels     map[string]string
}

// Ref returns the most precise reference: repo@digest, else repo:tag.
func (a Artifact) Ref() string {
	switch {
	case a.Digest != "":
		return a.Repository + "@" + a.Digest
	case a.Tag != "":
		return a.Repository + ":" + a.Tag
	default:
		return a.Repository
	}
}

// Deployment is a runtime's handle on a deployment: its id, where it can be
// reached and opaque runtime state.
type Deployment struct {
	ID      string
	Project string
	URLs    []string // where users reach it, when the runtime routes itself (ingress)
	// Upstreams are addresses (http://127.0.0.1:49153) rise's own edge router
	// proxies <project>.<domain> to, for runtimes without routing (docker).
	Upstreams    []string
	State        []byte // opaque to rise; JSON by convention (NewDeployment)
	StateVersion uint32 // bump when the state's shape changes; upgrade old state on read
}

// NewDeployment makes a Deployment whose State is state marshalled as JSON.
func NewDeployment(id string, state any, urls ...string) (*Deployment, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("encode deployment state: %w", err)
	}
	return &Deployment{ID: id, URLs: urls, State: b}, nil
}

// DecodeState unmarshals the JSON state into v.
func (d *Deployment) DecodeState(v any) error {
	if len(d.State) == 0 {
		return Permanent(fmt.Errorf("deployment %s has no runtime state", d.ID))
	}
	if err := json.Unmarshal(d.State, v); err != nil {
		return Permanent(fmt.Errorf("decode state of deployment %s: %w", d.ID, err))
	}
	return nil
}

// Health is the observed health of a deployment.
type Health int

const (
	HealthUnknown Health = iota
	HealthPending
	HealthHealthy
	HealthUnhealthy
	HealthStopped
	HealthFailed // irrecoverable (CrashLoopBackOff, image pull failure, ...)
)

func (h Health) String() string {
	switch h {
	case HealthPending:
		return "pending"
	case HealthHealthy:
		return "healthy"
	case HealthUnhealthy:
		return "unhealthy"
	case HealthStopped:
		return "stopped"
	case HealthFailed:
		return "failed"
	default:
		return "unknown"
	}
}

// Status is a runtime's observation of a deployment.
type Status struct {
	Health  Health
	Message string
	URLs    []string
}

// LogStreamer is an optional runtime capability: stream a deployment's logs.
type LogStreamer interface {
	Logs(ctx context.Context, d *Deployment, opts LogOptions, emit func(LogLine) error) error
}

// LogOptions select log lines.
type LogOptions struct {
	Follow bool
	Since  time.Time
	Tail   int // 0 = all
}

// LogLine is one line of app output.
type LogLine struct {
	Time   time.Time
	Stream Stream
	Text   string
}

// Destroyer is an optional runtime capability: remove everything the runtime
// created for a project (on project deletion).
type Destroyer interface {
	Destroy(ctx context.Context, project string, ui UI) error
}

// Rollbacker is an optional runtime capability: roll a deployment group back
// to an earlier deployment by reusing what the runtime kept of it (e.g. an
// ECS task definition), instead of deploying its image afresh. Without it the
// host rolls back by Deploying the target's artifact and workload under the
// new deployment id.
//
// Rollback is idempotent per req.DeploymentID, like Deploy: the host retries
// it after a crash. It returns the new deployment's handle, which Status and
// Stop later receive; stopping req.Current afterwards must not stop it.
// Returning ErrUnsupported, or ErrNotFound when the target's resources are
// gone, makes the host fall back to Deploy.
type Rollbacker interface {
	Rollback(ctx context.Context, req *RollbackRequest, ui UI) (*Deployment, error)
}

// RollbackRequest is a rollback: a new deployment (DeploymentID) that serves
// what Target served.
type RollbackRequest struct {
	DeploymentID    string // the new deployment's id
	Project         string
	Group           string
	Visibility      string
	Target          *Deployment // the deployment rolled back to, with its opaque state
	Artifact        Artifact    // Target's digest-pinned image
	Workload        Workload    // Target's workload
	PullCredentials *Credentials
	Current         *Deployment // the group's currently active deployment, if any
	Environment     string      // the project's environment ("" = "production")
	Domains         []string    // as DeployRequest.Domains
}

// DeployRequest returns the Deploy equivalent of the rollback: deploy the
// target's artifact and workload under the new id.
func (r *RollbackRequest) DeployRequest() *DeployRequest {
	return &DeployRequest{
		DeploymentID: r.DeploymentID, Project: r.Project, Group: r.Group, Visibility: r.Visibility,
		Artifact: r.Artifact, PullCredentials: r.PullCredentials, Workload: r.Workload, Previous: r.Current,
		Environment: r.Environment,
		Domains:     r.Domains,
	}
}

// ---- Progress --------------------------------------------------------------

// Stream names an output stream.
type Stream int

const (
	Stdout Stream = iota
	Stderr
)

// UI reports progress back to the user, live, through the host.
type UI interface {
	// Step starts a named step ("Building image", "Pushing").
	Step(title string) Step
	// Logf reports a line of information outside any step.
	Logf(format string, args ...any)
}

// Step is one step of progress.
type Step interface {
	Done()
	// Fail marks the step failed and returns err, for `return step.Fail(err)`.
	Fail(err error) error
	// Writer returns a writer for subprocess output belonging to this step.
	Writer(s Stream) io.Writer
}

// ---- Errors ----------------------------------------------------------------

// ErrNotFound means the thing asked about does not exist (any more). From
// Status it means the deployment is gone; the host treats it as stopped.
var ErrNotFound = errors.New("not found")

// ErrUnsupported is returned when a component lacks an optional capability.
var ErrUnsupported = errors.New("not supported by this plugin")

// ErrNotImplemented marks an operation that a plugin does not
// implement yet.
var ErrNotImplemented = errors.New("not implemented yet")

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: retrying the same call cannot succeed
// (bad config, invalid image). Other errors are retryable by host policy.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent (anywhere in its chain).
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
