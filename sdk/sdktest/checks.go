package sdktest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Check names one check of a conformance suite: a sub-test that enforces
// one clause of the plugin contract. Skip takes these constants; a name the
// suite does not have fails the suite.
type Check string

// Checks shared by the suites.
const (
	CheckConfigDiagnostics Check = "config_diagnostics"
	CheckCancellation      Check = "cancellation"
	CheckNoStdout          Check = "no_stdout"
)

// Runtime checks, in the order the runtime suite runs them.
const (
	CheckDeploy           Check = "deploy"
	CheckReachable        Check = "reachable"
	CheckDeployIdempotent Check = "deploy_idempotent"
	CheckStateless        Check = "stateless"
	CheckStateRoundtrip   Check = "state_roundtrip"
	CheckLogsTail         Check = "logs_tail"
	CheckLogsFollow       Check = "logs_follow"
	CheckStatusObserves   Check = "status_observes"
	CheckStop             Check = "stop"
	CheckRollback         Check = "rollback"
	CheckDestroy          Check = "destroy"
)

// Registry checks.
const (
	CheckRepository       Check = "repository"
	CheckCredentialsPush  Check = "credentials_push"
	CheckCredentialsPull  Check = "credentials_pull"
	CheckDeleteRepository Check = "delete_repository"
)

// Builder checks.
const (
	CheckDetectEmpty Check = "detect_empty"
	CheckBuild       Check = "build"
)

// Contract is the clause of the plugin contract each check enforces
// (docs/plugins.md, "The contract"). Failure messages start with it.
var Contract = map[Check]string{
	CheckConfigDiagnostics: "config errors are diagnostics: ValidateConfig reports them (not an RPC error) and calls with a bad config fail permanently",
	CheckCancellation:      "calls honour ctx: a cancelled call returns context.Canceled promptly and stops working",
	CheckNoStdout:          "plugins never write to stdout (it carries the go-plugin handshake)",

	CheckDeploy:           "Deploy returns a handle for the requested id that says where the app is reachable (Upstreams or URLs), and the deployment becomes Healthy",
	CheckReachable:        "every reported upstream and URL reaches this deployment's app",
	CheckDeployIdempotent: "Deploy is idempotent per deployment id: a retry against a running deployment starts no second copy",
	CheckStateless:        "plugins keep no state between calls: a fresh plugin process sees a deployment made by the previous one",
	CheckStateRoundtrip:   "the deployment handle survives the host's JSON round trip",
	CheckLogsTail:         "Logs returns the app's output, and with Tail=n only its last n lines",
	CheckLogsFollow:       "Logs with Follow streams new lines until ctx is cancelled, then returns",
	CheckStatusObserves:   "Status is level-based: Healthy only while the app answers (its health path when set), never from a cache",
	CheckStop:             "Stop stops the app (it answers no more through any address ever reported), is idempotent, and Status afterwards is Stopped or ErrNotFound",
	CheckRollback:         "Rollback is idempotent per id, returns the new deployment, and stopping the replaced deployment leaves it running",
	CheckDestroy:          "Destroy removes everything of the project: Status of its deployments is ErrNotFound and their apps stop answering; Destroy is idempotent",

	CheckRepository:       "EnsureRepository is idempotent (or the capability is absent: ErrUnsupported)",
	CheckCredentialsPush:  "push credentials name a repository and are not expired",
	CheckCredentialsPull:  "pull credentials name a repository and are not expired",
	CheckDeleteRepository: "DeleteRepository is idempotent (or the capability is absent: ErrUnsupported)",

	CheckDetectEmpty: "Detect answers for an empty directory without an error",
	CheckBuild:       "Detect says OK for a buildable directory and Build produces an artifact",
}

var suiteChecks = map[string][]Check{
	"runtime": {CheckConfigDiagnostics, CheckDeploy, CheckReachable, CheckDeployIdempotent, CheckStateless,
		CheckStateRoundtrip, CheckCancellation, CheckLogsTail, CheckLogsFollow, CheckStatusObserves, CheckStop,
		CheckRollback, CheckDestroy, CheckNoStdout},
	"registry": {CheckConfigDiagnostics, CheckRepository, CheckCredentialsPush, CheckCredentialsPull,
		CheckCancellation, CheckDeleteRepository, CheckNoStdout},
	"builder": {CheckConfigDiagnostics, CheckDetectEmpty, CheckCancellation, CheckBuild, CheckNoStdout},
}

// checkSkips fails the suite when a Skip names a check the suite lacks.
func checkSkips(t *testing.T, suite string, skips map[Check]string) {
	t.Helper()
	known := suiteChecks[suite]
	for c := range skips {
		if !slices.Contains(known, c) {
			names := make([]string, len(known))
			for i, k := range known {
				names[i] = string(k)
			}
			t.Fatalf("sdktest.Skip(%q): the %s suite has no such check (it has %s)", c, suite, strings.Join(names, ", "))
		}
	}
}

// violation is a *testing.T whose failures name the contract clause.
type violation struct {
	*testing.T
	check Check
}

func (v violation) prefix(format string) string {
	return fmt.Sprintf("contract [%s] %s:\n\t", v.check, Contract[v.check]) + format
}

// Errorf reports a violation of the check's clause and continues.
func (v violation) Errorf(format string, args ...any) {
	v.T.Helper()
	v.T.Errorf(v.prefix(format), args...)
}

// Fatalf reports a violation of the check's clause and stops the check.
func (v violation) Fatalf(format string, args ...any) {
	v.T.Helper()
	v.T.Fatalf(v.prefix(format), args...)
}
