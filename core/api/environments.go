package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Environment is one of a project's environments (production, staging…).
// Its deployments run with its workload defaults and, when it is
// protected, only the project's owners and service accounts that name it
// may deploy to it.
type Environment struct {
	Name       string `json:"name"`
	Production bool   `json:"production"`
	Protected  bool   `json:"protected"`
	// Default is true for the environment served at <project>.<domain>.
	Default bool `json:"default"`
	// Workload defaults (0/"" = unset) for deployments that set none.
	Replicas int    `json:"replicas,omitempty"`
	CPU      string `json:"cpu,omitempty"`
	Memory   string `json:"memory,omitempty"`
	// URL of the environment's default group; Deployment is its active
	// deployment, if any.
	URL        string      `json:"url,omitempty"`
	Deployment *Deployment `json:"deployment,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// EnvironmentList is GET /api/v1/projects/{p}/environments (default first,
// then by name).
type EnvironmentList struct {
	Environments []Environment `json:"environments"`
}

// EnvironmentRequest is the body of POST /api/v1/projects/{p}/environments
// (Name required) and PATCH …/environments/{env} (Name must be empty: no
// renames). Nil fields are left alone (create: false/unset).
type EnvironmentRequest struct {
	Name       string  `json:"name,omitempty"`
	Production *bool   `json:"production,omitempty"`
	Protected  *bool   `json:"protected,omitempty"`
	Replicas   *int    `json:"replicas,omitempty"`
	CPU        *string `json:"cpu,omitempty"`
	Memory     *string `json:"memory,omitempty"`
}

// DeploymentGroup is one target of a project that has a live deployment:
// an environment's group, its URL and its newest live deployment (the
// active one if any).
type DeploymentGroup struct {
	Environment string     `json:"environment"`
	Group       string     `json:"group"`
	URL         string     `json:"url,omitempty"`
	Deployment  Deployment `json:"deployment"`
}

// DeploymentGroupList is GET /api/v1/projects/{p}/deployment-groups.
type DeploymentGroupList struct {
	Groups []DeploymentGroup `json:"groups"`
}

// StopGroupRequest is POST /api/v1/projects/{p}/deployment-groups/stop:
// stop (or cancel) every live deployment of one environment's group.
type StopGroupRequest struct {
	Environment string `json:"environment,omitempty"` // default "production"
	Group       string `json:"group"`
}

// StopGroupResponse lists the deployments the request stopped or cancelled.
type StopGroupResponse struct {
	Deployments []Deployment `json:"deployments"`
}

// DeploymentQuery filters GET /api/v1/projects/{p}/deployments.
type DeploymentQuery struct {
	Environment, Group string
	Limit              int
	Cursor             string
}

func environmentsPath(project string) string {
	return "/projects/" + PathEscape(project) + "/environments"
}

// ListEnvironments lists a project's environments.
func (c *Client) ListEnvironments(ctx context.Context, project string) (*EnvironmentList, error) {
	var l EnvironmentList
	if err := c.Do(ctx, http.MethodGet, environmentsPath(project), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetEnvironment returns one environment of a project.
func (c *Client) GetEnvironment(ctx context.Context, project, name string) (*Environment, error) {
	var e Environment
	if err := c.Do(ctx, http.MethodGet, environmentsPath(project)+"/"+PathEscape(name), nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// CreateEnvironment creates an environment.
func (c *Client) CreateEnvironment(ctx context.Context, project string, req EnvironmentRequest) (*Environment, error) {
	var e Environment
	if err := c.Do(ctx, http.MethodPost, environmentsPath(project), req, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// UpdateEnvironment changes an environment's settings.
func (c *Client) UpdateEnvironment(ctx context.Context, project, name string, req EnvironmentRequest) (*Environment, error) {
	var e Environment
	if err := c.Do(ctx, http.MethodPatch, environmentsPath(project)+"/"+PathEscape(name), req, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// DeleteEnvironment deletes an environment without live deployments.
func (c *Client) DeleteEnvironment(ctx context.Context, project, name string) error {
	return c.Do(ctx, http.MethodDelete, environmentsPath(project)+"/"+PathEscape(name), nil, nil)
}

// ListDeploymentGroups lists a project's targets with live deployments.
func (c *Client) ListDeploymentGroups(ctx context.Context, project string) (*DeploymentGroupList, error) {
	var l DeploymentGroupList
	if err := c.Do(ctx, http.MethodGet, "/projects/"+PathEscape(project)+"/deployment-groups", nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// StopGroup stops every live deployment of an environment's group.
func (c *Client) StopGroup(ctx context.Context, project string, req StopGroupRequest) (*StopGroupResponse, error) {
	var out StopGroupResponse
	if err := c.Do(ctx, http.MethodPost, "/projects/"+PathEscape(project)+"/deployment-groups/stop", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// QueryDeployments lists a project's deployments, newest first, filtered
// by q.
func (c *Client) QueryDeployments(ctx context.Context, project string, q DeploymentQuery) (*DeploymentList, error) {
	v := url.Values{}
	if q.Environment != "" {
		v.Set("environment", q.Environment)
	}
	if q.Group != "" {
		v.Set("group", q.Group)
	}
	if q.Limit > 0 {
		v.Set("limit", itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	p := deploymentsPath(project)
	if len(v) > 0 {
		p += "?" + v.Encode()
	}
	var l DeploymentList
	if err := c.Do(ctx, http.MethodGet, p, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}
