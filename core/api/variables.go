package api

import (
	"context"
	"net/http"
	"net/url"
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
	Name string `json:"name"`
	// Environment is the scope the value is set in: "" project-wide, or
	// the environment whose own value it is.
	Environment string       `json:"environment,omitempty"`
	Kind        VariableKind `json:"kind"`
	Value       *string      `json:"value,omitempty"`
	UpdatedAt   time.Time    `json:"updated_at"`
	UpdatedBy   string       `json:"updated_by,omitempty"`
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

// envQuery is the query of a variables call: environment ("" =
// project-wide) and reveal.
func envQuery(environment string, reveal bool) string {
	q := url.Values{}
	if environment != "" {
		q.Set("environment", environment)
	}
	if reveal {
		q.Set("reveal", "true")
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// ListVariables lists a project's project-wide variables; with reveal,
// secret (not protected) values are included (owners only; audited).
func (c *Client) ListVariables(ctx context.Context, project string, reveal bool) (*VariableList, error) {
	return c.ListEnvVariables(ctx, project, "", reveal)
}

// ListEnvVariables lists the variables environment sees: the project-wide
// ones overlaid by its own (Variable.Environment says which); environment
// "" lists the project-wide ones.
func (c *Client) ListEnvVariables(ctx context.Context, project, environment string, reveal bool) (*VariableList, error) {
	var l VariableList
	if err := c.Do(ctx, http.MethodGet, envPath(project)+envQuery(environment, reveal), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// GetVariable returns one project-wide variable (its secret value only
// with reveal).
func (c *Client) GetVariable(ctx context.Context, project, name string, reveal bool) (*Variable, error) {
	return c.GetEnvVariable(ctx, project, "", name, reveal)
}

// GetEnvVariable returns the variable name as environment sees it (its
// own value, else the project-wide one).
func (c *Client) GetEnvVariable(ctx context.Context, project, environment, name string, reveal bool) (*Variable, error) {
	var v Variable
	if err := c.Do(ctx, http.MethodGet, envPath(project)+"/"+PathEscape(name)+envQuery(environment, reveal), nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// SetVariables sets project-wide variables; the answer lists them as
// stored (without secret values).
func (c *Client) SetVariables(ctx context.Context, project string, req *SetVariablesRequest) (*VariableList, error) {
	return c.SetEnvVariables(ctx, project, "", req)
}

// SetEnvVariables sets variables of environment ("" = project-wide).
func (c *Client) SetEnvVariables(ctx context.Context, project, environment string, req *SetVariablesRequest) (*VariableList, error) {
	var l VariableList
	if err := c.Do(ctx, http.MethodPatch, envPath(project)+envQuery(environment, false), req, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// UnsetVariable removes a project-wide variable. Deployments created
// before keep it.
func (c *Client) UnsetVariable(ctx context.Context, project, name string) error {
	return c.UnsetEnvVariable(ctx, project, "", name)
}

// UnsetEnvVariable removes environment's own value of name ("" =
// project-wide); a project-wide value of the name then applies to it.
func (c *Client) UnsetEnvVariable(ctx context.Context, project, environment, name string) error {
	return c.Do(ctx, http.MethodDelete, envPath(project)+"/"+PathEscape(name)+envQuery(environment, false), nil, nil)
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
