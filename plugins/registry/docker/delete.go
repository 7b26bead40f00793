package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/riseplatform/rise/sdk"
)

var _ sdk.RepositoryManager = (*Registry)(nil)

// EnsureRepository does nothing: a distribution registry creates a
// repository on its first push.
func (r *Registry) EnsureRepository(ctx context.Context, project string) error {
	if !projectRE.MatchString(project) {
		return sdk.Permanent(fmt.Errorf("registry: %q is not a valid project name for a repository", project))
	}
	return nil
}

// DeleteRepository deletes the content of a project's repository through
// the registry API, so that a later project of the same name cannot pull it:
// every tagged manifest (with the manifests of an index) and the
// repository's links to their config and layer blobs. The registry must
// allow deletes (storage.delete.enabled, REGISTRY_STORAGE_DELETE_ENABLED);
// its garbage collector reclaims the space. A missing repository is not an
// error.
func (r *Registry) DeleteRepository(ctx context.Context, project string) error {
	if r.key == nil {
		return fmt.Errorf("registry: not provisioned")
	}
	if !projectRE.MatchString(project) {
		return sdk.Permanent(fmt.Errorf("registry: %q is not a valid project name for a repository", project))
	}
	repo, err := name.NewRepository(r.URL+"/"+r.Repository(project), r.nameOpts()...)
	if err != nil {
		return sdk.Permanent(fmt.Errorf("registry: repository of %q: %w", project, err))
	}
	tok, err := r.registryToken("rise-cleanup", []access{{Type: "repository", Name: repo.RepositoryStr(), Actions: []string{"pull", "delete"}}})
	if err != nil {
		return err
	}
	c := &apiClient{r: r, repo: repo, token: tok.Token}
	tags, err := c.tags(ctx)
	if err != nil {
		return fmt.Errorf("registry: list tags of %s: %w", repo.RepositoryStr(), err)
	}
	var manifests, blobs []string
	seen := map[string]bool{}
	var walk func(ref string) error
	walk = func(ref string) error {
		m, digest, err := c.manifest(ctx, ref)
		if err != nil || digest == "" || seen[digest] {
			return err
		}
		seen[digest] = true
		manifests = append(manifests, digest)
		if m.Config.Digest != "" {
			blobs = append(blobs, m.Config.Digest)
		}
		for _, l := range m.Layers {
			blobs = append(blobs, l.Digest)
		}
		for _, child := range m.Manifests {
			if err := walk(child.Digest); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range tags {
		if err := walk(t); err != nil {
			return fmt.Errorf("registry: read %s:%s: %w", repo.RepositoryStr(), t, err)
		}
	}
	// Manifests first: once they are gone nothing refers to the blobs.
	for _, d := range manifests {
		if err := c.delete(ctx, "manifests", d); err != nil {
			return fmt.Errorf("registry: delete manifest %s@%s: %w", repo.RepositoryStr(), d, err)
		}
	}
	for _, d := range blobs {
		if seen["blob:"+d] {
			continue
		}
		seen["blob:"+d] = true
		if err := c.delete(ctx, "blobs", d); err != nil {
			return fmt.Errorf("registry: delete blob %s@%s: %w", repo.RepositoryStr(), d, err)
		}
	}
	return nil
}

func (r *Registry) nameOpts() []name.Option {
	if r.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// apiClient calls the registry API on one repository with one token.
type apiClient struct {
	r     *Registry
	repo  name.Repository
	token string
}

func (c *apiClient) url(path string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s", c.repo.Scheme(), c.r.URL, c.repo.RepositoryStr(), path)
}

func (c *apiClient) do(ctx context.Context, method, u string, accept string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp, body, err
}

// errRefused is a 401/403: the registry does not accept rise's token.
var errRefused = errors.New("registry refused rise's token: is it configured with this plugin's certificate, issuer and service?")

// tags lists every tag of the repository (following pagination); none when
// the repository does not exist.
func (c *apiClient) tags(ctx context.Context) ([]string, error) {
	var out []string
	last := ""
	for range 10000 {
		q := url.Values{"n": {"1000"}}
		if last != "" {
			q.Set("last", last)
		}
		resp, body, err := c.do(ctx, http.MethodGet, c.url("tags/list?"+q.Encode()), "")
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return out, nil
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return nil, errRefused
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("unexpected %s", resp.Status)
		}
		var page struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("tag list: %w", err)
		}
		out = append(out, page.Tags...)
		if resp.Header.Get("Link") == "" || len(page.Tags) == 0 {
			return out, nil
		}
		last = page.Tags[len(page.Tags)-1]
	}
	return nil, errors.New("too many tags")
}

// manifestDoc is what DeleteRepository reads of a manifest or index.
type manifestDoc struct {
	Config    struct{ Digest string }   `json:"config"`
	Layers    []struct{ Digest string } `json:"layers"`
	Manifests []struct{ Digest string } `json:"manifests"`
}

// manifest reads a manifest by tag or digest; digest "" when it is gone.
func (c *apiClient) manifest(ctx context.Context, ref string) (*manifestDoc, string, error) {
	resp, body, err := c.do(ctx, http.MethodGet, c.url("manifests/"+ref), manifestTypes)
	if err != nil {
		return nil, "", err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, "", nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, "", errRefused
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("unexpected %s", resp.Status)
	}
	digest := resp.Header.Get("Docker-Content-Digest")
	if _, err := name.NewDigest(c.repo.Name() + "@" + digest); err != nil {
		return nil, "", fmt.Errorf("manifest %s: no valid Docker-Content-Digest", ref)
	}
	var m manifestDoc
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", fmt.Errorf("manifest %s: %w", ref, err)
	}
	return &m, digest, nil
}

// delete deletes a manifest or blob by digest; gone already is fine.
func (c *apiClient) delete(ctx context.Context, kind, digest string) error {
	resp, body, err := c.do(ctx, http.MethodDelete, c.url(kind+"/"+digest), "")
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK, http.StatusNoContent, http.StatusNotFound:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return errRefused
	case http.StatusMethodNotAllowed:
		return errors.New("the registry does not allow deletes: set storage.delete.enabled (REGISTRY_STORAGE_DELETE_ENABLED=true)")
	}
	return fmt.Errorf("unexpected %s: %.200s", resp.Status, body)
}
