// Package images decides which image references a project may deploy and
// pins them to digests. It is the one place that tells a platform image (in
// the configured registry) from an external one:
//
//   - A reference whose registry host is the platform registry's may name
//     only the project's own repository. It is resolved by the registry
//     plugin, whose credentials never leave for any other host. Another
//     project's repository gets exactly the answer a missing image gets,
//     without the registry being asked.
//   - Any other reference is external: a tag is resolved anonymously,
//     without rise credentials, through an SSRF-guarded client that refuses
//     loopback, private and link-local addresses unless the operator allowed
//     them (server.hcl images { allow_private_registries }); a digest is
//     already pinned and is not fetched (a literal address in it is checked
//     the same way). Errors never carry network details.
package images

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/netguard"
)

// MaxRefLen bounds an image reference.
const MaxRefLen = 512

// Registry is what the policy needs of the platform registry plugin.
type Registry interface {
	sdk.Registry
	sdk.Resolver
}

// Options configure a Policy.
type Options struct {
	// Registry is the platform registry; nil when none is configured (then
	// every image is external).
	Registry Registry
	// AllowPrivate lists non-public networks external registries may be on.
	AllowPrivate []netip.Prefix
	Log          hclog.Logger
}

// Policy checks and resolves image references for projects.
type Policy struct {
	reg    Registry
	guard  netguard.Options
	client *http.Client
	log    hclog.Logger
	repos  sync.Map // project → name.Repository (the project's platform repository)
}

// New returns a Policy.
func New(o Options) *Policy {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	guard := netguard.Options{Allow: o.AllowPrivate, Timeout: 30 * time.Second}
	return &Policy{
		reg:    o.Registry,
		guard:  guard,
		client: netguard.Client(guard),
		log:    o.Log,
	}
}

// Resolve checks that project may deploy ref and returns the reference
// pinned to its digest (registry/repository@sha256:...). Errors are
// *httpx.Error values safe to show to the caller.
func (p *Policy) Resolve(ctx context.Context, project, ref string) (string, error) {
	parsed, err := parse(ref)
	if err != nil {
		return "", err
	}
	own, platform, err := p.classify(ctx, project, parsed)
	if err != nil {
		return "", err
	}
	if platform {
		if !own {
			return "", notFound(ref, project, p.hint(ctx, project))
		}
		return p.resolvePlatform(ctx, project, ref, parsed)
	}
	if d, ok := parsed.(name.Digest); ok {
		// Already pinned: nothing to ask the registry. Its host is still
		// checked as far as a literal address or localhost tells.
		if !p.hostAllowed(parsed.Context().RegistryStr()) {
			p.log.Info("external image refused: address not allowed", "project", project, "image", ref)
			return "", unreachable(ref, parsed)
		}
		return d.Name(), nil
	}
	digest, err := p.resolveExternal(ctx, parsed)
	switch {
	case errors.Is(err, errMissing):
		return "", httpx.NewError(http.StatusNotFound, fmt.Sprintf("Image '%s' not found in its registry.", ref),
			"Check the reference (registry/repository:tag); a name without a registry host means Docker Hub.")
	case errors.Is(err, errPrivate):
		return "", httpx.NewError(http.StatusBadRequest, fmt.Sprintf("Cannot resolve image '%s': its registry requires credentials.", ref),
			"Only public images of other registries can be deployed; push it to the project's repository instead.")
	case err != nil:
		p.log.Info("external image not resolved", "project", project, "image", ref, "error", err)
		return "", unreachable(ref, parsed)
	}
	return parsed.Context().Name() + "@" + digest, nil
}

// unreachable is the one answer for an external registry that could not be
// asked or did not answer like a registry: which of these it was (refused
// address, closed port, timeout, not a registry) is for the log only.
func unreachable(ref string, parsed name.Reference) error {
	return httpx.NewError(http.StatusBadRequest,
		fmt.Sprintf("Cannot resolve image '%s': registry '%s' is unreachable, not allowed, or not a registry.", ref, parsed.Context().RegistryStr()),
		"Images from other registries must be public and on a public address (the operator can allow private networks in server.hcl: images { allow_private_registries }).")
}

// hostAllowed checks a registry host[:port] without resolving it: a literal
// address must be allowed by the guard, and localhost names count as
// loopback.
func (p *Policy) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.guard.Allowed(ip)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return p.guard.Allowed(netip.MustParseAddr("127.0.0.1"))
	}
	return true
}

// CheckPushed checks an image a client reports as pushed for project: with
// a platform registry it must be in the project's repository; without one
// it must resolve like an external image.
func (p *Policy) CheckPushed(ctx context.Context, project, ref string) error {
	if p.reg == nil {
		_, err := p.Resolve(ctx, project, ref)
		return err
	}
	parsed, err := parse(ref)
	if err != nil {
		return err
	}
	own, _, err := p.classify(ctx, project, parsed)
	if err != nil {
		return err
	}
	if !own {
		return notFound(ref, project, p.hint(ctx, project))
	}
	return nil
}

// SameRepository reports whether two references name the same repository
// (registry host and path, tags and digests ignored). Credentials for one
// repository go with an image only when this holds.
func SameRepository(a, b string) bool {
	ra, err := parse(a)
	if err != nil {
		return false
	}
	rb, err := parse(b)
	if err != nil {
		return false
	}
	return sameRepo(ra.Context(), rb.Context())
}

func sameRepo(a, b name.Repository) bool {
	return strings.EqualFold(a.RegistryStr(), b.RegistryStr()) && a.RepositoryStr() == b.RepositoryStr()
}

// parse parses a full image reference the way docker does (no registry host
// means Docker Hub).
func parse(ref string) (name.Reference, error) {
	if ref == "" || len(ref) > MaxRefLen || strings.ContainsAny(ref, " \t\r\n") {
		return nil, httpx.NewError(http.StatusBadRequest, fmt.Sprintf("Invalid image reference %.80q.", ref),
			"Use registry/repository:tag or registry/repository@sha256:<digest>.")
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return nil, httpx.NewError(http.StatusBadRequest, fmt.Sprintf("Invalid image reference '%s'.", ref),
			"Use registry/repository:tag or registry/repository@sha256:<digest> (lowercase repository).")
	}
	return parsed, nil
}

// classify reports whether ref is in the platform registry (platform) and
// in project's own repository there (own).
func (p *Policy) classify(ctx context.Context, project string, ref name.Reference) (own, platform bool, err error) {
	if p.reg == nil {
		return false, false, nil
	}
	repo, err := p.repository(ctx, project)
	if err != nil {
		return false, false, err
	}
	if !strings.EqualFold(ref.Context().RegistryStr(), repo.RegistryStr()) {
		return false, false, nil
	}
	return ref.Context().RepositoryStr() == repo.RepositoryStr(), true, nil
}

// repository is project's repository in the platform registry, as the
// registry plugin names it in the credentials it issues (the password is
// dropped at once: it goes nowhere).
func (p *Policy) repository(ctx context.Context, project string) (name.Repository, error) {
	if v, ok := p.repos.Load(project); ok {
		return v.(name.Repository), nil
	}
	c, err := p.reg.Credentials(ctx, &sdk.CredentialsRequest{Project: project, TTL: time.Minute, Subject: "rise-image-policy"})
	if err != nil {
		p.log.Warn("registry plugin did not name the project's repository", "project", project, "error", err)
		return name.Repository{}, httpx.NewError(http.StatusBadGateway, "The platform registry is not available; try again later.")
	}
	repo, err := name.NewRepository(c.Repository)
	if err != nil {
		p.log.Error("registry plugin returned an invalid repository", "project", project, "repository", c.Repository, "error", err)
		return name.Repository{}, httpx.NewError(http.StatusBadGateway, "The platform registry is misconfigured.")
	}
	p.repos.Store(project, repo)
	return repo, nil
}

func (p *Policy) hint(ctx context.Context, project string) string {
	repo, err := p.repository(ctx, project)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("Images in %s must be in this project's repository %s; 'rise deploy' builds and pushes there.", repo.RegistryStr(), repo.Name())
}

// notFound is the one answer for an image that is not in the project's
// repository, whether it exists elsewhere or nowhere.
func notFound(ref, project, hint string) error {
	e := httpx.NewError(http.StatusNotFound, fmt.Sprintf("Image '%s' not found in project '%s'.", ref, project))
	if hint != "" {
		e.Suggestions = []string{hint}
	}
	return e
}

// resolvePlatform pins an image of project's own repository through the
// registry plugin.
func (p *Policy) resolvePlatform(ctx context.Context, project, ref string, parsed name.Reference) (string, error) {
	a, err := p.reg.Resolve(ctx, parsed.Name())
	switch {
	case errors.Is(err, sdk.ErrUnsupported):
		return parsed.Name(), nil // the registry cannot pin: deploy the reference as given
	case errors.Is(err, sdk.ErrNotFound):
		return "", notFound(ref, project, p.hint(ctx, project))
	case err != nil:
		p.log.Warn("platform registry did not resolve an image", "project", project, "image", ref, "error", err)
		return "", httpx.NewError(http.StatusBadGateway, fmt.Sprintf("Cannot resolve image '%s': the platform registry did not answer; try again later.", ref))
	case a.Digest == "":
		return parsed.Name(), nil
	}
	pinned, err := name.NewDigest(a.Repository + "@" + a.Digest)
	if err != nil || !sameRepo(pinned.Context(), parsed.Context()) {
		p.log.Error("registry plugin resolved an image to another repository", "project", project, "image", ref, "resolved", a.Ref())
		return "", httpx.NewError(http.StatusBadGateway, fmt.Sprintf("Cannot resolve image '%s': the platform registry gave an invalid answer.", ref))
	}
	return pinned.Name(), nil
}
