// Package docker is the registry plugin for any registry implementing
// distribution's token authentication (the CNCF distribution registry,
// Debian's docker-registry, Harbor's core...). The rise server is the
// registry's token service: Credentials mints a short-lived, signed password
// that grants push+pull (or pull) on exactly <namespace>/<project>, and
// IssueToken, behind the server's realm endpoint, exchanges it for a
// registry bearer token carrying exactly those grants.
package docker

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// Defaults.
const (
	DefaultNamespace = "rise"
	DefaultService   = "rise-registry"
	DefaultIssuer    = "rise"
	DefaultTokenTTL  = 5 * time.Minute
)

// Component is the "docker" registry component.
func Component() sdk.Component {
	return sdk.Component{
		Name:        "docker",
		Description: "Any registry with distribution token auth; rise issues short-lived, repository-scoped tokens",
		New:         func() any { return new(Registry) },
	}
}

// Registry is the plugin's configuration:
//
//	registry "docker" {
//	  url              = "127.0.0.1:5000"
//	  namespace        = "rise"
//	  token_ttl        = "5m"
//	  service          = "rise-registry"
//	  signing_key_file = "/etc/rise/registry.key"   # generated under state_dir when empty
//	  certificate_file = "/etc/rise/registry.crt"   # the registry's auth.token.rootcertbundle
//	}
type Registry struct {
	URL             string `hcl:"url"`                       // registry host[:port] as clients push to it
	Namespace       string `hcl:"namespace,optional"`        // repository prefix; default "rise"
	TokenTTL        string `hcl:"token_ttl,optional"`        // lifetime of credentials and tokens; default 5m
	Service         string `hcl:"service,optional"`          // registry's auth.token.service; default rise-registry
	Issuer          string `hcl:"issuer,optional"`           // registry's auth.token.issuer; default rise
	SigningKeyFile  string `hcl:"signing_key_file,optional"` // PEM private key (EC P-256 or RSA)
	CertificateFile string `hcl:"certificate_file,optional"` // PEM certificate of that key
	StateDir        string `hcl:"state_dir,optional"`        // where a generated key pair is kept
	Insecure        bool   `hcl:"insecure,optional"`         // plain HTTP when resolving digests (auto for loopback)

	ttl  time.Duration
	key  crypto.Signer
	cert *x509.Certificate
	now  func() time.Time
}

var (
	_ sdk.Registry    = (*Registry)(nil)
	_ sdk.TokenIssuer = (*Registry)(nil)
	_ sdk.Resolver    = (*Registry)(nil)
	_ sdk.Provisioner = (*Registry)(nil)
	_ sdk.Validator   = (*Registry)(nil)
)

var (
	namespaceRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
	projectRE   = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
)

// Validate checks the configuration.
func (r *Registry) Validate() error {
	var errs []error
	if strings.TrimSpace(r.URL) == "" {
		errs = append(errs, sdk.AttrError("url", errors.New(`url is required (the registry's host:port, e.g. "127.0.0.1:5000")`)))
	} else if strings.Contains(r.URL, "://") || strings.Contains(r.URL, "/") {
		errs = append(errs, sdk.AttrError("url", fmt.Errorf("url %q must be host[:port] without scheme or path", r.URL)))
	}
	if r.Namespace != "" && !namespaceRE.MatchString(r.Namespace) {
		errs = append(errs, sdk.AttrError("namespace", fmt.Errorf("namespace %q is not a valid repository path (lowercase letters, digits, . _ - and /)", r.Namespace)))
	}
	if r.TokenTTL != "" {
		d, err := time.ParseDuration(r.TokenTTL)
		if err != nil || d <= 0 {
			errs = append(errs, sdk.AttrError("token_ttl", fmt.Errorf("token_ttl %q is not a positive duration like \"5m\"", r.TokenTTL)))
		}
	}
	if (r.SigningKeyFile == "") != (r.CertificateFile == "") {
		errs = append(errs, errors.New("signing_key_file and certificate_file go together: set both or neither"))
	}
	return errors.Join(errs...)
}

// Provision applies defaults and loads (or generates) the signing key pair.
func (r *Registry) Provision(ctx context.Context) error {
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	if r.Service == "" {
		r.Service = DefaultService
	}
	if r.Issuer == "" {
		r.Issuer = DefaultIssuer
	}
	r.ttl = DefaultTokenTTL
	if r.TokenTTL != "" {
		r.ttl, _ = time.ParseDuration(r.TokenTTL)
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r.loadKeys()
}

// Repository returns the repository path of a project: <namespace>/<project>.
func (r *Registry) Repository(project string) string { return r.Namespace + "/" + project }

// CertificateBundle returns the path of the PEM certificate the registry must
// trust (auth.token.rootcertbundle). Valid after Provision.
func (r *Registry) CertificateBundle() string { return r.CertificateFile }

func (r *Registry) clock() time.Time {
	if r.now == nil {
		return time.Now()
	}
	return r.now()
}
