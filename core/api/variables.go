package api

import (
	"context"
	"net/http"
	"time"
)

// VariableKind is how a stored project variable may be read back.
type VariableKind string

const (
	// KindPlain: readable by everyone who may change the project.
	KindPlain VariableKind = "plain"
	// KindSecret: masked; project owners read it with an explicit reveal
	// (audited).
	KindSecret VariableKind = "secret"
	// KindProtected: write-only; never returned by any API once set.
	KindProtected VariableKind = "protected"
)

// Sensitive reports whether values of kind k are masked.
func (k VariableKind) Sensitive() bool { return k == KindSecret || k == KindProtected }

// Masked is how the CLI shows a value it may not print.
const Masked = "••••••"

// Variable is a stored project variable. Value is nil for secret and
// protected variables unless a secret was revealed.
type Variable struct {
	Name      string       `json:"name"`
	Kind      VariableKind `json:"kind"`
	Value     *string      `json:"value,omitempty"`
	UpdatedAt time.Time    `json:"updated_at"`
	UpdatedBy string       `json:"updated_by,omitempty"`
}

// VariableList is the body of GET /api/v1/projects/{p}/env.
type VariableList struct {
	Variables []Variable `json:"variables"`
}

// VariableInput is one variable to set.
type VariableInput struct {
	Name  string       `json:"name"`
	Value string       `json:"value"`
	Kind  VariableKind `json:"kind,omitempty"` // default plain
}

// SetVariablesRequest is the body of PATCH /api/v1/projects/{p}/env: every
// variable is set in one transaction, or none is.
type SetVariablesRequest struct {
	Variables []VariableInput `json:"variables"`
}

func envPath(project string) string { return "/projects/" + PathEscape(project) + "/env" }

// ListVariables lists a project's variables; with reveal, secret (not
// protected) values are included (owners only; audited).
func (c *Client) ListVariables(ctx context.Context, project string, reveal bool) (*VariableList, error) {
	p := envPath(project)
	if reveal {
		p += "?reveal=true"
	}
	var l VariableList
	if err := c.Do(ctx, http.MethodGet, p, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetVariable returns one variable (its secret value only with reveal).
func (c *Client) GetVariable(ctx context.Context, project, name string, reveal bool) (*Variable, error) {
	p := envPath(project) + "/" + PathEscape(name)
	if reveal {
		p += "?reveal=true"
	}
	var v Variable
	if err := c.Do(ctx, http.MethodGet, p, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// SetVariables sets variables of a project; the answer lists them as
// stored (without secret values).
func (c *Client) SetVariables(ctx context.Context, project string, req *SetVariablesRequest) (*VariableList, error) {
	var l VariableList
	if err := c.Do(ctx, http.MethodPatch, envPath(project), req, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// UnsetVariable removes a variable. Deployments created before keep it.
func (c *Client) UnsetVariable(ctx context.Context, project, name string) error {
	return c.Do(ctx, http.MethodDelete, envPath(project)+"/"+PathEscape(name), nil, nil)
}

// Redeploy creates a new deployment from deployment id's image and
// workload with the project's current variables.
func (c *Client) Redeploy(ctx context.Context, project, id string) (*Deployment, error) {
	var d Deployment
	if err := c.Do(ctx, http.MethodPost, deploymentPath(project, id)+"/redeploy", nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
