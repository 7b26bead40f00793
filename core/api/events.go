package api

import (
	"context"
	"net/http"
	"time"

	"github.com/riseplatform/rise/core/deploy"
)

// DeploymentEvent is one entry of a deployment's state timeline: a state
// change (or a new message in the same state). Seq orders every event of a
// project; it is the event id of GET /api/v1/projects/{p}/events.
type DeploymentEvent struct {
	Seq        int64        `json:"seq"`
	Deployment string       `json:"deployment"` // deployment id, e.g. 20261123-142501
	Group      string       `json:"group"`
	State      deploy.State `json:"state"`
	Message    string       `json:"message,omitempty"`
	Time       time.Time    `json:"time"`
}

// DeploymentTimeline is GET /api/v1/projects/{p}/deployments/{id}/timeline:
// the deployment's events, oldest first.
type DeploymentTimeline struct {
	Events []DeploymentEvent `json:"events"`
}

// LogEvent is the data of a "log" event of the project event stream.
type LogEvent struct {
	Deployment string    `json:"deployment"`
	Time       time.Time `json:"time"`
	Stream     string    `json:"stream"` // "stdout" or "stderr"
	Text       string    `json:"text"`
}

// Event stream: GET /api/v1/projects/{p}/events answers text/event-stream
// with these event types.
const (
	EventState = "state" // data: DeploymentEvent
	EventLog   = "log"   // data: LogEvent (with ?deployment=<id>&logs=true)
)

// DeploymentTimeline returns the state timeline of deployment id.
func (c *Client) DeploymentTimeline(ctx context.Context, project, id string) (*DeploymentTimeline, error) {
	var out DeploymentTimeline
	if err := c.Do(ctx, http.MethodGet, deploymentPath(project, id)+"/timeline", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
