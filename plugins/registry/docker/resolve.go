package docker

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/riseplatform/rise/sdk"
)

// httpClient talks to the configured registry. It follows no redirects: a
// token is for the registry alone.
var httpClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// manifestTypes are the manifest media types Resolve accepts.
var manifestTypes = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

// Resolve resolves an image reference to its digest. ref is a full reference
// in this registry (127.0.0.1:5000/rise/app:v1) or a project-relative one
// (app:v1), which is taken to live in this registry's namespace. The plugin
// authenticates with a pull token it signs itself, so it needs no round trip
// through the realm. A reference to any other host or outside the namespace
// is refused without a request: rise's tokens go to the configured registry
// only. (Which project may resolve which repository is the server's call.)
func (r *Registry) Resolve(ctx context.Context, ref string) (*sdk.Artifact, error) {
	if r.key == nil {
		return nil, fmt.Errorf("registry: not provisioned")
	}
	if !strings.Contains(ref, "/") {
		ref = r.URL + "/" + r.Namespace + "/" + ref
	}
	parsed, repo, err := r.parse(ref)
	if err != nil {
		return nil, err
	}
	art := &sdk.Artifact{Repository: repo.Name()}
	if t, ok := parsed.(name.Tag); ok {
		art.Tag = t.TagStr()
	}
	tok, err := r.registryToken("rise-resolver", []access{{Type: "repository", Name: repo.RepositoryStr(), Actions: []string{"pull"}}})
	if err != nil {
		return nil, err
	}
	digest, err := manifestDigest(ctx, r.manifestURL(repo, parsed.Identifier()), tok.Token)
	if err != nil {
		return nil, fmt.Errorf("registry: resolve %s: %w", ref, err)
	}
	art.Digest = digest
	return art, nil
}

// parse parses a reference that must be in this registry, under the
// namespace.
func (r *Registry) parse(ref string) (name.Reference, name.Repository, error) {
	var opts []name.Option
	if r.Insecure {
		opts = append(opts, name.Insecure)
	}
	parsed, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, name.Repository{}, sdk.Permanent(fmt.Errorf("registry: invalid image reference %q: %w", ref, err))
	}
	repo := parsed.Context()
	if !strings.EqualFold(repo.RegistryStr(), r.URL) || !strings.HasPrefix(repo.RepositoryStr(), r.Namespace+"/") {
		return nil, name.Repository{}, sdk.Permanent(fmt.Errorf("registry: %q is not in this registry's namespace %s/%s: %w", ref, r.URL, r.Namespace, sdk.ErrNotFound))
	}
	return parsed, repo, nil
}

func (r *Registry) manifestURL(repo name.Repository, identifier string) string {
	return fmt.Sprintf("%s://%s/v2/%s/manifests/%s", repo.Scheme(), r.URL, repo.RepositoryStr(), identifier)
}

// manifestDigest asks for a manifest's digest: HEAD, falling back to GET and
// hashing the body when the registry sends no Docker-Content-Digest.
func manifestDigest(ctx context.Context, url, token string) (string, error) {
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Accept", manifestTypes)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpClient.Do(req)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return "", sdk.Permanent(fmt.Errorf("%w: no such image", sdk.ErrNotFound))
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return "", fmt.Errorf("registry refused rise's pull token (%s): is it configured with this plugin's certificate, issuer and service?", resp.Status)
		case resp.StatusCode != http.StatusOK:
			return "", fmt.Errorf("unexpected %s", resp.Status)
		}
		if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
			return d, nil
		}
		if method == http.MethodGet {
			return fmt.Sprintf("sha256:%x", sha256.Sum256(body)), nil
		}
	}
	return "", fmt.Errorf("no digest")
}
