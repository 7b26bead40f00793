// Package kubernetes is rise's Kubernetes runtime: it runs each deployment as
// a Deployment in a namespace per project, routes <project>.<domain> to it
// through a Service and an Ingress, and reports health from the observed
// state of the Deployment and its pods.
//
// Everything is written with server-side apply under one field manager, so
// Deploy is idempotent and safe to retry after a crash or restart.
package kubernetes

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/riseplatform/rise/sdk"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// Component is the runtime "kubernetes".
func Component() sdk.Component {
	return sdk.Component{
		Name:        "kubernetes",
		Description: "Runs apps as Deployments behind a Service and an Ingress on a Kubernetes cluster",
		New:         func() any { return new(Runtime) },
	}
}

// Runtime is the kubernetes runtime's configuration and, after Provision, its
// client. It is safe for concurrent use.
type Runtime struct {
	// Cluster access: a kubeconfig file (and optionally one of its
	// contexts), or the pod's service account when in_cluster is true.
	// Neither set: $KUBECONFIG or ~/.kube/config.
	Kubeconfig string `hcl:"kubeconfig,optional"`
	Context    string `hcl:"context,optional"`
	InCluster  bool   `hcl:"in_cluster,optional"`
	// QPS and Burst limit the client's request rate (defaults 50 and 100).
	QPS   float64 `hcl:"qps,optional"`
	Burst int     `hcl:"burst,optional"`
	// FieldManager names rise's server-side apply field manager (default "rise").
	FieldManager string `hcl:"field_manager,optional"`

	// NamespaceFormat names a project's namespace; "{project}" is replaced
	// by the project name (default "rise-{project}"). Without "{project}"
	// all projects share one namespace and Destroy deletes objects by label.
	NamespaceFormat string            `hcl:"namespace_format,optional"`
	NamespaceLabels map[string]string `hcl:"namespace_labels,optional"`
	// PodSecurity is the Pod Security Standard enforced on rise's
	// namespaces (default "restricted"; "none" to not label them).
	PodSecurity string `hcl:"pod_security,optional"`

	// Domain: apps are served at <scheme>://<project>.<domain>. Required.
	Domain string `hcl:"domain"`
	// Scheme of app URLs: "https" (default) or "http".
	Scheme string `hcl:"scheme,optional"`
	// Ingress settings: class, a TLS secret (wildcard certificate) in each
	// project namespace, or a cert-manager issuer that issues one per host.
	IngressClass          string            `hcl:"ingress_class,optional"`
	TLSSecret             string            `hcl:"tls_secret,optional"`
	CertManagerIssuer     string            `hcl:"cert_manager_issuer,optional"`
	CertManagerIssuerKind string            `hcl:"cert_manager_issuer_kind,optional"` // ClusterIssuer (default) or Issuer
	IngressAnnotations    map[string]string `hcl:"ingress_annotations,optional"`
	// DomainsTLSSecret names a TLS secret (in each project namespace) for
	// the projects' custom domains; without it, with cert_manager_issuer,
	// cert-manager issues <service>-domains-tls for them.
	DomainsTLSSecret string `hcl:"domains_tls_secret,optional"`
	// IngressNamespace is where the ingress controller runs; the
	// NetworkPolicy admits traffic from it (default "ingress-nginx").
	IngressNamespace     string `hcl:"ingress_namespace,optional"`
	DisableNetworkPolicy bool   `hcl:"disable_network_policy,optional"`
	// Egress: a project's pods reach DNS, their own project's pods, the
	// namespaces in EgressAllowNamespaces, the EgressAllowCIDRs and every
	// address outside EgressDenyCIDRs (default: private, shared,
	// link-local and unique-local ranges, so the cluster's pod and service
	// networks, other rise namespaces and 169.254.169.254). Set
	// EgressDenyCIDRs to your cluster's ranges plus "169.254.0.0/16" to let
	// apps reach the rest of your private network.
	EgressDenyCIDRs       []string `hcl:"egress_deny_cidrs,optional"`
	EgressAllowCIDRs      []string `hcl:"egress_allow_cidrs,optional"`
	EgressAllowNamespaces []string `hcl:"egress_allow_namespaces,optional"`

	// Private projects: the Ingress asks rise whether the caller may see
	// the app. PublicURL is the rise server's URL; AuthURL and SigninURL
	// default to endpoints under it. AuthAnnotations replaces the
	// ingress-nginx annotations for other controllers; in all of them
	// "{project}", "{auth_url}" and "{signin_url}" are substituted.
	// EdgeService is rise's Service as seen from the cluster
	// ("rise.rise-system.svc.cluster.local" or "host:port"). When set, a
	// private app's host also routes /.rise/ (the login callback that sets
	// the app's session cookie, and logout) to rise.
	EdgeService     string            `hcl:"edge_service,optional"`
	PublicURL       string            `hcl:"public_url,optional"`
	AuthURL         string            `hcl:"auth_url,optional"`
	SigninURL       string            `hcl:"signin_url,optional"`
	AuthAnnotations map[string]string `hcl:"auth_annotations,optional"`

	// Labels and Annotations are added to every object rise writes.
	Labels      map[string]string `hcl:"labels,optional"`
	Annotations map[string]string `hcl:"annotations,optional"`
	// RunAsUser sets the containers' user id (images must not run as root:
	// pods run with runAsNonRoot).
	RunAsUser int64 `hcl:"run_as_user,optional"`
	// ImagePullPolicy: IfNotPresent (default), Always or Never, for images
	// deployed without pull credentials. Images with credentials (rise's
	// registry) are always Always, so the kubelet checks this project's
	// credentials even when the node has the image cached.
	ImagePullPolicy string `hcl:"image_pull_policy,optional"`
	// DisableCache makes Status read from the API server on every call
	// instead of from watch-fed caches (which need list/watch on
	// deployments, services and pods in rise's namespaces).
	DisableCache bool `hcl:"disable_cache,optional"`

	once    sync.Once
	initErr error
	client  kubernetes.Interface
	applied appliedCache
	cache   readCache
}

var (
	_ sdk.Runtime     = (*Runtime)(nil)
	_ sdk.LogStreamer = (*Runtime)(nil)
	_ sdk.Destroyer   = (*Runtime)(nil)
	_ sdk.Provisioner = (*Runtime)(nil)
	_ sdk.Validator   = (*Runtime)(nil)
)

// Provision fills in defaults. The cluster client is made on first use, so
// validating a configuration needs no cluster.
func (r *Runtime) Provision(context.Context) error {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&r.FieldManager, "rise")
	def(&r.NamespaceFormat, "rise-{project}")
	def(&r.PodSecurity, "restricted")
	def(&r.Scheme, "https")
	def(&r.CertManagerIssuerKind, "ClusterIssuer")
	def(&r.IngressNamespace, "ingress-nginx")
	def(&r.ImagePullPolicy, "IfNotPresent")
	if r.EgressDenyCIDRs == nil {
		r.EgressDenyCIDRs = slices.Clone(defaultEgressDeny)
	}
	if r.QPS == 0 {
		r.QPS = 50
	}
	if r.Burst == 0 {
		r.Burst = 100
	}
	if r.PublicURL != "" {
		base := strings.TrimRight(r.PublicURL, "/")
		def(&r.AuthURL, base+"/api/v1/ingress/auth?project={project}")
		def(&r.SigninURL, base+"/auth/login?rd=$scheme://$host$escaped_request_uri")
	}
	return nil
}

// Validate checks the configuration before Provision: unset optional
// attributes are empty here and get their defaults in Provision.
func (r *Runtime) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if r.Domain == "" {
		add("domain is required (apps are served at <project>.<domain>)")
	} else if msgs := validation.IsDNS1123Subdomain(r.Domain); len(msgs) > 0 {
		add("domain %q is not a DNS name: %s", r.Domain, strings.Join(msgs, "; "))
	}
	if r.InCluster && (r.Kubeconfig != "" || r.Context != "") {
		add("in_cluster cannot be combined with kubeconfig or context")
	}
	if r.Scheme != "" && r.Scheme != "http" && r.Scheme != "https" {
		add("scheme must be \"http\" or \"https\", not %q", r.Scheme)
	}
	if r.TLSSecret != "" && r.CertManagerIssuer != "" {
		add("set tls_secret or cert_manager_issuer, not both")
	}
	if r.CertManagerIssuerKind != "" && r.CertManagerIssuerKind != "ClusterIssuer" && r.CertManagerIssuerKind != "Issuer" {
		add("cert_manager_issuer_kind must be ClusterIssuer or Issuer, not %q", r.CertManagerIssuerKind)
	}
	switch r.PodSecurity {
	case "", "restricted", "baseline", "privileged", "none":
	default:
		add("pod_security must be restricted, baseline, privileged or none, not %q", r.PodSecurity)
	}
	switch r.ImagePullPolicy {
	case "", "IfNotPresent", "Always", "Never":
	default:
		add("image_pull_policy must be IfNotPresent, Always or Never, not %q", r.ImagePullPolicy)
	}
	for _, l := range []struct {
		name  string
		cidrs []string
	}{{"egress_deny_cidrs", r.EgressDenyCIDRs}, {"egress_allow_cidrs", r.EgressAllowCIDRs}} {
		for _, c := range l.cidrs {
			if p, err := netip.ParsePrefix(c); err != nil || p.Masked() != p || p.Bits() == 0 {
				add("%s: %q is not a network in CIDR notation like 169.254.0.0/16 (nor a whole address family)", l.name, c)
			}
		}
	}
	for _, n := range r.EgressAllowNamespaces {
		if msgs := validation.IsDNS1123Label(n); len(msgs) > 0 {
			add("egress_allow_namespaces: %q is not a namespace name", n)
		}
	}
	if r.QPS < 0 || r.Burst < 0 {
		add("qps and burst must not be negative")
	}
	if ns := r.namespaceFor("x"); r.NamespaceFormat != "" && len(validation.IsDNS1123Label(ns)) > 0 {
		add("namespace_format %q does not give a valid namespace name (got %q)", r.NamespaceFormat, ns)
	}
	if r.EdgeService != "" {
		host, port := r.edgeHostPort()
		if msgs := validation.IsDNS1123Subdomain(host); len(msgs) > 0 || port <= 0 || port > 65535 {
			add("edge_service %q must be a DNS name with an optional :port", r.EdgeService)
		}
	}
	if len(r.AuthAnnotations) == 0 && r.PublicURL == "" && (r.AuthURL == "") != (r.SigninURL == "") {
		add("set both auth_url and signin_url (or public_url for both defaults)")
	}
	for k, v := range r.Labels {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			add("labels: %q is not a valid label key: %s", k, strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			add("labels: value %q of %s is not a valid label value: %s", v, k, strings.Join(msgs, "; "))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("kubernetes runtime: %s", strings.Join(errs, "; "))
	}
	return nil
}

// validQuantity reports a Kubernetes quantity parse error with context.
func validQuantity(what, v string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return q, sdk.Permanent(fmt.Errorf("resources: %s %q is not a Kubernetes quantity (like 500m or 512Mi): %w", what, v, err))
	}
	return q, nil
}
