package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/core/duration"
	"github.com/riseplatform/rise/sdk/apphost"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// newDeployment checks a create request and returns the row to insert:
// the target environment (which must exist and take the caller), the group
// (whose host must be free), the expiry, CI metadata, and the image: given,
// promoted from another deployment (From), or built later by the CLI.
func (s *Service) newDeployment(ctx context.Context, p *store.Project, id *identity.Identity, req *api.CreateDeploymentRequest) (*newRow, error) {
	n := &newRow{ProjectID: p.ID, Environment: req.Environment, Group: req.Group, State: deploy.Pending,
		CreatedBy: id.Subject(), Message: "Waiting for the image"}
	if n.Environment == "" {
		n.Environment = api.DefaultEnvironment
	}
	if n.Group == "" {
		n.Group = api.DefaultGroup
	}
	if err := (apphost.Target{Project: p.Name, Environment: n.Environment, Group: n.Group}).Check(); err != nil {
		return nil, httpx.NewError(http.StatusBadRequest, capitalize(err.Error())+".")
	}
	env, err := s.environment(ctx, p, n.Environment)
	if err != nil {
		return nil, err
	}
	if err := s.mayDeployTo(ctx, id, p, env); err != nil {
		return nil, err
	}
	if err := s.groupFree(ctx, p, n.Environment, n.Group); err != nil {
		return nil, err
	}
	if req.Workload != nil {
		if err := validateWorkload(req.Workload); err != nil {
			return nil, err
		}
		n.Workload = *req.Workload
		n.Workload.Env = maps.Clone(req.Workload.Env)
	}
	if len(req.SecretEnv) > 0 {
		if s.o.Variables == nil {
			return nil, httpx.NewError(http.StatusBadRequest, "This rise server does not store secret values; its operator configures encryption (docs/secrets.md).")
		}
		if err := s.o.Variables.ValidateSecrets(req.SecretEnv); err != nil {
			return nil, httpx.NewError(http.StatusBadRequest, "Invalid secret_env: "+err.Error()+".")
		}
		n.Config.Secrets, n.Config.CreatedBy = req.SecretEnv, id.Subject()
	}
	if req.Expire != "" {
		d, err := duration.Parse(req.Expire)
		if err != nil || d < time.Minute {
			return nil, httpx.Errorf(http.StatusBadRequest, "Invalid expire %q: want a duration of at least 1m, like \"2h\" or \"7d\".", req.Expire)
		}
		n.ExpireSeconds = int64(d / time.Second)
	}
	if n.JobURL, err = ciURL("job_url", req.JobURL); err != nil {
		return nil, err
	}
	if n.PullRequestURL, err = ciURL("pull_request_url", req.PullRequestURL); err != nil {
		return nil, err
	}
	switch {
	case req.From != "" && req.Image != "":
		return nil, httpx.NewError(http.StatusBadRequest, "Pass either image or from, not both.")
	case req.From != "":
		src, err := s.promotionSource(ctx, p, req.From)
		if err != nil {
			return nil, err
		}
		if req.Workload == nil {
			// The image's own settings come along; the target's
			// environment decides size and variables.
			n.Workload = src.Workload
			n.Workload.Env, n.Workload.Replicas, n.Workload.CPU, n.Workload.Memory = nil, 0, "", ""
		}
		if req.UseSourceEnv {
			// The source's variables: its per-deploy env and the stored
			// variable versions it was created with.
			n.Workload.Env = maps.Clone(src.Workload.Env)
			n.Config.From = src.UUID
		}
		n.Image, n.ImageDigest, n.PromotedFrom, n.State = src.Image, src.ImageDigest, src.ID, deploy.Pushed
		n.Message = fmt.Sprintf("Promoted from %s (%s)", src.ID, src.target())
	case req.UseSourceEnv:
		return nil, httpx.NewError(http.StatusBadRequest, "use_source_env needs from (the deployment to promote).")
	case req.Image != "":
		pinned, err := s.resolve(ctx, p.Name, req.Image)
		if err != nil {
			return nil, err
		}
		n.Image, n.ImageDigest, n.State, n.Message = req.Image, pinned, deploy.Pushed, "Image "+req.Image
	}
	env.Apply(&n.Workload)
	return n, nil
}

// mayDeployToEnv is mayDeployTo for environment name of p.
func (s *Service) mayDeployToEnv(ctx context.Context, id *identity.Identity, p *store.Project, name string) error {
	env, err := s.environment(ctx, p, name)
	if err != nil {
		return err
	}
	return s.mayDeployTo(ctx, id, p, env)
}

// groupFree refuses a group whose host another target of the project has:
// a group named like an environment, or a group live in another
// environment (sdk/apphost: a group's host does not name its environment).
func (s *Service) groupFree(ctx context.Context, p *store.Project, env, group string) error {
	if group == api.DefaultGroup {
		return nil
	}
	envs, err := s.envs.Names(ctx, p.ID)
	if err != nil {
		return err
	}
	if slices.Contains(envs, group) {
		return httpx.NewError(http.StatusConflict,
			fmt.Sprintf("Group '%s' has the name of an environment of project '%s'; they would share one URL.", group, p.Name),
			fmt.Sprintf("Deploy to the environment with --environment %s, or pick another group name.", group))
	}
	live, err := s.repo.LiveEnvironments(ctx, p.ID, group)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(live, func(e string) bool { return e != env }); i >= 0 {
		return httpx.NewError(http.StatusConflict,
			fmt.Sprintf("Group '%s' of project '%s' runs in environment '%s'; a group has one URL, so it runs in one environment at a time.", group, p.Name, live[i]),
			fmt.Sprintf("Stop it first ('rise deployment stop %s --group %s -E %s') or deploy with -E %s.", p.Name, group, live[i], live[i]))
	}
	return nil
}

// promotionSource resolves from: a deployment id, or ENV[:GROUP] for that
// target's active deployment. The source must have a digest-pinned image.
func (s *Service) promotionSource(ctx context.Context, p *store.Project, from string) (*row, error) {
	var src *row
	var err error
	if deploy.ValidID(from) {
		src, err = s.repo.GetByID(ctx, p.ID, from)
		if errors.Is(err, errNoDeployment) {
			return nil, s.notFound(p.Name, from)
		}
	} else {
		env, group, _ := strings.Cut(from, ":")
		if group == "" {
			group = api.DefaultGroup
		}
		if err := (apphost.Target{Project: p.Name, Environment: env, Group: group}).Check(); err != nil {
			return nil, httpx.NewError(http.StatusBadRequest, fmt.Sprintf("Invalid from %q: want a deployment id or ENVIRONMENT[:GROUP].", from))
		}
		if _, err := s.environment(ctx, p, env); err != nil {
			return nil, err
		}
		src, err = s.repo.Active(ctx, p.ID, env, group)
		if err == nil && src == nil {
			return nil, httpx.NewError(http.StatusNotFound,
				fmt.Sprintf("Nothing runs in %s of project '%s' to promote.", apphost.Target{Project: p.Name, Environment: env, Group: group}, p.Name),
				fmt.Sprintf("Run 'rise deployment list %s -E %s' and pass a deployment id.", p.Name, env))
		}
	}
	if err != nil {
		return nil, err
	}
	if !isPinned(src.ImageDigest) && !digestRE.MatchString(src.ImageDigest) {
		return nil, httpx.NewError(http.StatusConflict,
			fmt.Sprintf("Deployment '%s' has no digest-pinned image (it is %s); only a deployment with a pushed image can be promoted.", src.ID, src.State))
	}
	return src, nil
}

// ciURL checks a CI link: empty, or an http(s) URL of at most 2048 bytes.
func ciURL(field, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || len(v) > 2048 || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", httpx.Errorf(http.StatusBadRequest, "Invalid %s %.100q: want an http(s) URL without credentials.", field, v)
	}
	return v, nil
}
