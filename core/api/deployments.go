package api

import (
	"time"

	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk/apphost"
)

// Deployment states: the names of core/deploy's states (the one list, with
// the transition table), here for API clients' convenience.
const (
	StatePending     = deploy.Pending
	StateBuilding    = deploy.Building
	StatePushing     = deploy.Pushing
	StatePushed      = deploy.Pushed
	StateDeploying   = deploy.Deploying
	StateHealthy     = deploy.Healthy
	StateUnhealthy   = deploy.Unhealthy
	StateCancelling  = deploy.Cancelling
	StateCancelled   = deploy.Cancelled
	StateTerminating = deploy.Terminating
	StateStopped     = deploy.Stopped
	StateSuperseded  = deploy.Superseded
	StateExpired     = deploy.Expired
	StateFailed      = deploy.Failed
)

// DefaultGroup is the deployment group used when none is given.
const DefaultGroup = apphost.DefaultGroup

// DefaultEnvironment is the environment every project starts with and the
// one used when none is given.
const DefaultEnvironment = apphost.DefaultEnvironment

// Workload is how a deployment runs (the deploy block of rise.hcl).
type Workload struct {
	Port       int               `json:"port,omitempty"`     // container port; default 8080
	Replicas   int               `json:"replicas,omitempty"` // default 1
	Env        map[string]string `json:"env,omitempty"`
	HealthPath string            `json:"health_path,omitempty"` // HTTP path probed; empty = TCP check
	CPU        string            `json:"cpu,omitempty"`         // "500m"
	Memory     string            `json:"memory,omitempty"`      // "256Mi"
	Command    []string          `json:"command,omitempty"`
}

// Deployment is one deployment of a project, identified by a timestamp id
// like 20261123-142501 that is unique within its project.
type Deployment struct {
	ID          string       `json:"id"`
	Project     string       `json:"project"`
	Environment string       `json:"environment"`
	Group       string       `json:"group"`
	State       deploy.State `json:"state"`
	// Image is the image reference the deployment was created from (repo:tag);
	// ImageDigest pins it (repo@sha256:...) once known (Pushed and later).
	Image       string   `json:"image,omitempty"`
	ImageDigest string   `json:"image_digest,omitempty"`
	Workload    Workload `json:"workload"`
	Message     string   `json:"message,omitempty"` // reason of the last change (e.g. why it failed)
	URL         string   `json:"url,omitempty"`     // where the app is reachable when Healthy
	Active      bool     `json:"active"`            // the group's serving deployment
	RollbackOf  string   `json:"rollback_of,omitempty"`
	// PromotedFrom is the deployment whose image this one deploys (rise
	// deploy --from).
	PromotedFrom string `json:"promoted_from,omitempty"`
	// CI metadata: the job that created the deployment and the pull or
	// merge request it is for.
	JobURL         string     `json:"job_url,omitempty"`
	PullRequestURL string     `json:"pull_request_url,omitempty"`
	CreatedBy      string     `json:"created_by,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Version increases on every change; pass it as ?wait_for_change= to
	// long-poll for the next change.
	Version int64 `json:"version"`
}

// Terminal reports whether the deployment's state can no longer change.
func (d *Deployment) Terminal() bool { return d.State.Terminal() }

// CreateDeploymentRequest is the body of POST /api/v1/projects/{p}/deployments.
// With Image set the server pins the image to its digest and the deployment
// starts in Pushed (no build); without it the deployment starts in Pending
// and the CLI reports Building/Pushing/Pushed through the state route.
//
// With From set the deployment promotes an existing one: it deploys the
// source's digest-pinned image (no build) into Environment/Group. From is a
// deployment id, or ENV or ENV:GROUP for that target's active deployment.
type CreateDeploymentRequest struct {
	Image string `json:"image,omitempty"`
	// Environment defaults to "production"; Group to "default". A group may
	// contain '/' (mr/27); see sdk/apphost for the hosts they get.
	Environment string    `json:"environment,omitempty"`
	Group       string    `json:"group,omitempty"`
	Workload    *Workload `json:"workload,omitempty"`
	// Expire ("30m", "2h", "7d"; at least 1m): the deployment is stopped
	// (Expired) that long after it turns Healthy.
	Expire string `json:"expire,omitempty"`
	// SecretEnv are secret values for this deployment only (rise deploy
	// --secret-env): sealed like stored secrets, never returned, kept for
	// rollbacks of this deployment. They override stored variables.
	SecretEnv map[string]string `json:"secret_env,omitempty"`
	From      string            `json:"from,omitempty"`
	// UseSourceEnv (with From) takes the source deployment's variables
	// instead of the request's.
	UseSourceEnv   bool   `json:"use_source_env,omitempty"`
	JobURL         string `json:"job_url,omitempty"`
	PullRequestURL string `json:"pull_request_url,omitempty"`
}

// UpdateDeploymentStateRequest is the body of POST
// /api/v1/projects/{p}/deployments/{id}/state: the CLI's progress hand-off.
// Allowed states: Building, Pushing, Pushed (ImageDigest or Image required),
// Failed, Cancelling. An invalid transition is 409 naming the current state.
type UpdateDeploymentStateRequest struct {
	State       deploy.State `json:"state"`
	Image       string       `json:"image,omitempty"`        // repo:tag pushed
	ImageDigest string       `json:"image_digest,omitempty"` // sha256:... or repo@sha256:...
	Message     string       `json:"message,omitempty"`
}

// DeploymentList is GET /api/v1/projects/{p}/deployments (newest first).
// Query: ?environment=, ?group=, ?limit= (default 50), ?cursor=.
type DeploymentList struct {
	Deployments []Deployment `json:"deployments"`
	NextCursor  string       `json:"next_cursor,omitempty"`
}

// LogLine is one line of GET .../deployments/{id}/logs, streamed as
// newline-delimited JSON. Query: ?follow=true, ?tail=N, ?since=5m or RFC 3339.
type LogLine struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"` // "stdout" or "stderr"
	Text   string    `json:"text"`
}

// LogOptions select log lines for Client.DeploymentLogs.
type LogOptions struct {
	Follow bool
	Tail   int    // 0 = all
	Since  string // duration ("5m") or RFC 3339 time; empty = from the start
}

// RollbackPrevious may be passed as the deployment id to rollback: the most
// recent earlier deployment of the group that was Healthy (Superseded/Stopped).
const RollbackPrevious = "previous"
