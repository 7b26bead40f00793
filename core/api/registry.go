package api

import (
	"context"
	"time"
)

// RegistryCredentials is GET
// /api/v1/projects/{p}/deployments/{id}/registry-credentials: short-lived
// credentials that may push (and pull) exactly the project's repository. Only
// available while the deployment is Pending, Building or Pushing (else 409).
type RegistryCredentials struct {
	Registry   string    `json:"registry"`   // host[:port] to docker login to
	Repository string    `json:"repository"` // full repository, e.g. 127.0.0.1:5000/rise/my-app
	Username   string    `json:"username"`
	Password   string    `json:"password"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// RegistryCredentials fetches push credentials for a deployment's image.
func (c *Client) RegistryCredentials(ctx context.Context, project, id string) (*RegistryCredentials, error) {
	var rc RegistryCredentials
	path := "/projects/" + PathEscape(project) + "/deployments/" + PathEscape(id) + "/registry-credentials"
	if err := c.Do(ctx, "GET", path, nil, &rc); err != nil {
		return nil, err
	}
	return &rc, nil
}
