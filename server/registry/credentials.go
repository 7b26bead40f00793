package registry

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// CredentialsHandler serves GET
// /projects/{project}/deployments/{id}/registry-credentials: push+pull
// credentials on exactly the project's repository, for a deployment that is
// Pending, Building or Pushing (409 otherwise).
func CredentialsHandler(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vars := mux.Vars(r)
		project, id := vars["project"], vars["id"]
		caller := identity.From(r.Context())
		if caller == nil {
			httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized, "not logged in", "run `rise login`"))
			return
		}
		notFound := httpx.Errorf(http.StatusNotFound, "deployment '%s' of project '%s' not found", id, project)
		if caller.IsServiceAccount() && caller.ServiceAccount.Project != project {
			httpx.Err(w, r, notFound)
			return
		}
		if d.Deployments == nil || d.Registry == nil {
			httpx.Err(w, r, errors.New("registry routes are not wired to a deployment store and registry"))
			return
		}
		state, err := d.Deployments.DeploymentState(r.Context(), caller, project, id)
		switch {
		case errors.Is(err, ErrNotFound) || errors.Is(err, sdk.ErrNotFound):
			httpx.Err(w, r, notFound)
			return
		case err != nil:
			httpx.Err(w, r, fmt.Errorf("deployment state of %s/%s: %w", project, id, err))
			return
		}
		if !state.BeforePushed() { // a builder may push only while Pending, Building or Pushing
			httpx.Err(w, r, httpx.NewError(http.StatusConflict,
				fmt.Sprintf("deployment '%s' is %s; registry credentials are only handed out while it is Pending, Building or Pushing", id, state),
				"start a new deployment with `rise deploy`"))
			return
		}
		creds, err := d.Registry.Credentials(r.Context(), &sdk.CredentialsRequest{Project: project, Push: true, Subject: caller.Subject()})
		if err != nil {
			if sdk.IsPermanent(err) {
				httpx.Err(w, r, httpx.NewError(http.StatusUnprocessableEntity, err.Error()))
				return
			}
			httpx.Err(w, r, fmt.Errorf("registry credentials for %s: %w", project, err))
			return
		}
		logger(d.Logger).Info("issued registry push credentials", "project", project, "deployment", id,
			"subject", caller.Subject(), "expires_at", creds.ExpiresAt)
		w.Header().Set("Cache-Control", "no-store")
		httpx.JSON(w, http.StatusOK, api.RegistryCredentials{
			Registry: creds.Registry, Repository: creds.Repository,
			Username: creds.Username, Password: creds.Password, ExpiresAt: creds.ExpiresAt,
		})
	})
}
