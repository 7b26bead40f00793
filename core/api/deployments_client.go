package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

func deploymentsPath(project string) string {
	return "/projects/" + PathEscape(project) + "/deployments"
}

func deploymentPath(project, id string) string {
	return deploymentsPath(project) + "/" + PathEscape(id)
}

// CreateDeployment creates a deployment of project.
func (c *Client) CreateDeployment(ctx context.Context, project string, req *CreateDeploymentRequest) (*Deployment, error) {
	var d Deployment
	if err := c.Do(ctx, http.MethodPost, deploymentsPath(project), req, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ListDeployments lists a project's deployments, newest first. group may be
// empty (all groups); limit 0 = the server default; cursor "" = first page.
func (c *Client) ListDeployments(ctx context.Context, project, group string, limit int, cursor string) (*DeploymentList, error) {
	return c.QueryDeployments(ctx, project, DeploymentQuery{Group: group, Limit: limit, Cursor: cursor})
}

func itoa(n int) string { return strconv.Itoa(n) }

// GetDeployment returns one deployment.
func (c *Client) GetDeployment(ctx context.Context, project, id string) (*Deployment, error) {
	var d Deployment
	if err := c.Do(ctx, http.MethodGet, deploymentPath(project, id), nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// WaitDeployment long-polls: it returns as soon as the deployment's Version
// differs from version, or after the server's wait (at most ~30s) with the
// unchanged deployment. Loop on it to follow a deployment without polling.
func (c *Client) WaitDeployment(ctx context.Context, project, id string, version int64) (*Deployment, error) {
	var d Deployment
	p := deploymentPath(project, id) + "?wait_for_change=" + strconv.FormatInt(version, 10)
	if err := c.Do(ctx, http.MethodGet, p, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// UpdateDeploymentState reports build/push progress (the CLI hand-off).
func (c *Client) UpdateDeploymentState(ctx context.Context, project, id string, req *UpdateDeploymentStateRequest) (*Deployment, error) {
	var d Deployment
	if err := c.Do(ctx, http.MethodPost, deploymentPath(project, id)+"/state", req, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// RollbackDeployment creates a new deployment from deployment id's pinned
// image and workload; id may be RollbackPrevious.
func (c *Client) RollbackDeployment(ctx context.Context, project, id string) (*Deployment, error) {
	var d Deployment
	if err := c.Do(ctx, http.MethodPost, deploymentPath(project, id)+"/rollback", struct{}{}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// StopDeployment stops a deployment (Terminating → Stopped), or cancels one
// that has not been deployed yet (Cancelling → Cancelled).
func (c *Client) StopDeployment(ctx context.Context, project, id string) (*Deployment, error) {
	var d Deployment
	if err := c.Do(ctx, http.MethodPost, deploymentPath(project, id)+"/stop", struct{}{}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DeploymentLogs streams a deployment's log lines to emit until the stream
// ends (or ctx is cancelled when following).
func (c *Client) DeploymentLogs(ctx context.Context, project, id string, opts LogOptions, emit func(LogLine) error) error {
	q := url.Values{}
	if opts.Follow {
		q.Set("follow", "true")
	}
	if opts.Tail > 0 {
		q.Set("tail", strconv.Itoa(opts.Tail))
	}
	if opts.Since != "" {
		q.Set("since", opts.Since)
	}
	p := deploymentPath(project, id) + "/logs"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	sc0 := c
	if opts.Follow && c.HTTP != nil && c.HTTP.Timeout != 0 {
		// A followed stream lives as long as ctx: drop the client timeout.
		cc, hc := *c, *c.HTTP
		hc.Timeout = 0
		cc.HTTP = &hc
		sc0 = &cc
	}
	body, err := sc0.Stream(ctx, http.MethodGet, p, nil)
	if err != nil {
		return err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("decode log line: %w", err)
		}
		if err := emit(l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read logs: %w", err)
	}
	return nil
}
