// Package registry serves rise's registry endpoints: the token realm a
// distribution registry sends docker clients to (GET /api/v1/registry/token),
// and the route that hands a deployment's builder short-lived push credentials
// (GET /api/v1/projects/{p}/deployments/{id}/registry-credentials).
package registry

import (
	"context"
	"errors"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/identity"
)

// TokenPath is where the token realm is mounted (configure the registry's
// auth.token.realm as <public_url>+TokenPath).
const TokenPath = "/api/v1/registry/token"

// ErrNotFound is what Deployments returns for a deployment that does not
// exist or that the caller may not see (not-yours looks like not-found).
// Errors wrapping sdk.ErrNotFound are treated the same.
var ErrNotFound = errors.New("deployment not found")

// Deployments is the slice of the deployment store this package needs.
type Deployments interface {
	// DeploymentState returns the state of deployment id of project, as
	// seen by caller.
	DeploymentState(ctx context.Context, caller *identity.Identity, project, id string) (deploy.State, error)
}

// DeploymentsFunc adapts a function to Deployments.
type DeploymentsFunc func(ctx context.Context, caller *identity.Identity, project, id string) (deploy.State, error)

// DeploymentState implements Deployments.
func (f DeploymentsFunc) DeploymentState(ctx context.Context, caller *identity.Identity, project, id string) (deploy.State, error) {
	return f(ctx, caller, project, id)
}

// Deps are what the handlers need.
type Deps struct {
	// Registry is the configured registry plugin (through the plugin host).
	Registry sdk.Registry
	// Tokens is the registry's token issuer; nil when the registry does not
	// delegate auth to rise (e.g. ECR): the token route then answers 404.
	Tokens      sdk.TokenIssuer
	Deployments Deployments
	Logger      hclog.Logger
}

// Routes mounts both routes on api, the /api/v1 subrouter:
//
//	GET /registry/token                                         (TokenHandler)
//	GET /projects/{project}/deployments/{id}/registry-credentials (CredentialsHandler)
//
// The token route authenticates with the registry credentials (HTTP basic
// auth) itself: it must be reachable without a rise bearer token.
func Routes(api *mux.Router, d Deps) {
	api.Handle("/registry/token", TokenHandler(d.Tokens, d.Logger)).Methods("GET")
	api.Handle("/projects/{project}/deployments/{id}/registry-credentials", CredentialsHandler(d)).Methods("GET")
}

func logger(l hclog.Logger) hclog.Logger {
	if l == nil {
		return hclog.Default().Named("registry")
	}
	return l
}
