package sdktest

import (
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// Option tunes a conformance suite.
type Option func(*options)

type options struct {
	timeout      time.Duration
	project      string
	deployReq    func(id string) *sdk.DeployRequest
	invalidCfg   any
	credsCheck   func(t *testing.T, c *sdk.Credentials)
	buildDir     string
	buildReq     func(dir string) *sdk.BuildRequest
	checkStdout  bool
	skipSubtests map[string]bool
}

func newOptions(opts []Option) *options {
	o := &options{timeout: 30 * time.Second, project: "sdktest", checkStdout: true, skipSubtests: map[string]bool{}}
	for _, f := range opts {
		f(o)
	}
	if o.deployReq == nil {
		o.deployReq = func(id string) *sdk.DeployRequest {
			return &sdk.DeployRequest{DeploymentID: id, Project: o.project, Group: "default", Visibility: "public",
				Workload: sdk.Workload{Port: 8080, Replicas: 1}}
		}
	}
	return o
}

// WithTimeout bounds each wait (for Healthy, for Stopped, for a cancelled
// call to return). Default 30s.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithProject sets the project name used in requests. Default "sdktest".
func WithProject(name string) Option { return func(o *options) { o.project = name } }

// WithDeployRequest supplies the request a runtime suite deploys; it is
// called with a fresh deployment id. The deployment must become Healthy.
func WithDeployRequest(f func(id string) *sdk.DeployRequest) Option {
	return func(o *options) { o.deployReq = f }
}

// WithInvalidConfig supplies a config the component must reject with
// diagnostics. Default: the valid config plus an unknown attribute.
func WithInvalidConfig(cfg any) Option { return func(o *options) { o.invalidCfg = cfg } }

// WithCredentialsCheck adds a check on issued credentials (e.g. log in to
// the real registry with them).
func WithCredentialsCheck(f func(t *testing.T, c *sdk.Credentials)) Option {
	return func(o *options) { o.credsCheck = f }
}

// WithBuildDir makes the builder suite detect and build dir for real.
// build, if non-nil, makes the request (default: Image "sdktest:<n>", no push).
func WithBuildDir(dir string, build func(dir string) *sdk.BuildRequest) Option {
	return func(o *options) { o.buildDir, o.buildReq = dir, build }
}

// WithoutStdoutCheck disables the no-stdout check (needed when the plugin
// runs out of process, where its stdout is not this process's).
func WithoutStdoutCheck() Option { return func(o *options) { o.checkStdout = false } }

// Skip skips named subtests (e.g. "cancellation") with a reason in the log.
func Skip(names ...string) Option {
	return func(o *options) {
		for _, n := range names {
			o.skipSubtests[n] = true
		}
	}
}
