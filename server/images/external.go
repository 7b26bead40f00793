package images

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Clear answers of an external registry; any other error means it was
// unreachable, refused by the guard, or not a registry, which callers must
// not tell apart (no port scanning through error texts).
var (
	errPrivate = errors.New("the registry requires credentials")
	errMissing = errors.New("no such image")
)

// manifestTypes are the manifest media types accepted.
var manifestTypes = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

// resolveExternal asks an external registry for ref's digest, anonymously:
// HEAD (then GET) of the manifest, answering a Bearer challenge with an
// anonymous token from the registry's realm (pull on this repository only).
// Every connection, the realm's included, goes through the guarded client.
// errPrivate and errMissing are a registry's clear answers; any other error
// is for the log only.
func (p *Policy) resolveExternal(ctx context.Context, ref name.Reference) (string, error) {
	repo := ref.Context()
	u := fmt.Sprintf("%s://%s/v2/%s/manifests/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), ref.Identifier())
	token := ""
	for attempt := 0; ; attempt++ {
		digest, challenge, err := p.manifestDigest(ctx, u, token)
		if err != nil || challenge == "" {
			return digest, err
		}
		if attempt > 0 {
			return "", errPrivate
		}
		if token, err = p.anonymousToken(ctx, challenge, repo.RepositoryStr()); err != nil {
			return "", err
		}
	}
}

// manifestDigest asks for a manifest's digest. challenge is the
// WWW-Authenticate header of a 401 answer.
func (p *Policy) manifestDigest(ctx context.Context, u, token string) (digest, challenge string, err error) {
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			return "", "", err
		}
		req.Header.Set("Accept", manifestTypes)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := p.client.Do(req)
		if err != nil {
			return "", "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		// Only a registry's answers are told apart (it announces its API
		// version, or challenges for a registry token).
		registry := resp.Header.Get("Docker-Distribution-Api-Version") == "registry/2.0"
		challenge := resp.Header.Get("WWW-Authenticate")
		switch {
		case resp.StatusCode == http.StatusUnauthorized && token == "" && strings.HasPrefix(strings.ToLower(challenge), "bearer "):
			return "", challenge, nil
		case (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && registry:
			return "", "", errPrivate
		case resp.StatusCode == http.StatusNotFound && registry:
			return "", "", errMissing
		case resp.StatusCode != http.StatusOK:
			return "", "", fmt.Errorf("manifest: unexpected %s", resp.Status)
		}
		if d := resp.Header.Get("Docker-Content-Digest"); d != "" && method == http.MethodHead {
			if _, err := name.NewDigest("x@" + d); err != nil {
				return "", "", fmt.Errorf("invalid Docker-Content-Digest %q", d)
			}
			return d, "", nil
		}
		if method == http.MethodGet {
			return fmt.Sprintf("sha256:%x", sha256.Sum256(body)), "", nil
		}
	}
	return "", "", errors.New("no digest")
}

// anonymousToken answers a Bearer challenge (realm, service) without
// credentials, asking for pull on repository only.
func (p *Policy) anonymousToken(ctx context.Context, challenge, repository string) (string, error) {
	scheme, params := parseChallenge(challenge)
	if !strings.EqualFold(scheme, "bearer") || params["realm"] == "" {
		return "", fmt.Errorf("unsupported challenge %q", scheme)
	}
	realm, err := url.Parse(params["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") || realm.Host == "" {
		return "", errors.New("invalid realm")
	}
	q := realm.Query()
	if s := params["service"]; s != "" {
		q.Set("service", s)
	}
	q.Set("scope", "repository:"+repository+":pull")
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return "", errPrivate
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token realm: unexpected %s", resp.Status)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return "", fmt.Errorf("token realm: %w", err)
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	if tok.Token == "" {
		return "", errors.New("token realm: no token")
	}
	return tok.Token, nil
}

// parseChallenge splits `Bearer realm="...",service="..."` into its scheme
// and parameters.
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				break
			}
			params[k], rest = v[1:1+end], v[2+end:]
		} else {
			val, tail, _ := strings.Cut(v, ",")
			params[k], rest = strings.TrimSpace(val), tail
		}
	}
	return scheme, params
}
