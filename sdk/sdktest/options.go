package sdktest

import (
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// Option tunes a conformance suite.
type Option func(*options)

type options struct {
	timeout     time.Duration
	project     string
	deployReq   func(id string) *sdk.DeployRequest
	invalidCfg  any
	credsCheck  func(t *testing.T, c *sdk.Credentials)
	buildDir    string
	buildReq    func(dir string) *sdk.BuildRequest
	checkStdout bool
	skips       map[Check]string
	fresh       func(t *testing.T) Conn
}

func newOptions(opts []Option) *options {
	o := &options{timeout: 30 * time.Second, project: "sdktest", checkStdout: true, skips: map[Check]string{}}
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

// Skip skips checks, saying why in the test log. Skip only what your
// runtime cannot do here (a fake cloud runs no app: CheckReachable), never
// to hide a failure. A check the suite does not have fails the suite.
func Skip(reason string, checks ...Check) Option {
	return func(o *options) {
		for _, c := range checks {
			o.skips[c] = reason
		}
	}
}

// WithFreshConn gives the runtime suite a way to reach the plugin through a
// fresh process (CheckStateless). RuntimeConformance and LaunchBinary
// connections bring their own.
func WithFreshConn(f func(t *testing.T) Conn) Option { return func(o *options) { o.fresh = f } }
