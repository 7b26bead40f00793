package kubernetes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/apphost"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	netv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
)

const containerName = "app"

func (r *Runtime) namespaceObject(project string) *corev1ac.NamespaceApplyConfiguration {
	labels := r.projectLabels(project, "")
	if !r.perProjectNamespace() { // shared by all projects
		delete(labels, LabelProject)
		delete(labels, "app.kubernetes.io/name")
	}
	maps.Copy(labels, r.NamespaceLabels)
	if r.PodSecurity != "none" {
		labels["pod-security.kubernetes.io/enforce"] = r.PodSecurity
	}
	return corev1ac.Namespace(r.namespaceFor(project)).
		WithLabels(labels).
		WithAnnotations(r.annotations(nil))
}

// envSecret holds the deployment's secret environment values.
func (r *Runtime) envSecret(ns, name string, req *sdk.DeployRequest) *corev1ac.SecretApplyConfiguration {
	return corev1ac.Secret(name+"-env", ns).
		WithLabels(r.deploymentLabels(req.Target(), req.DeploymentID)).
		WithAnnotations(r.annotations(nil)).
		WithType(corev1.SecretTypeOpaque).
		WithStringData(req.Workload.SecretEnv)
}

// pullSecret is a dockerconfigjson Secret from the registry's pull credentials.
func (r *Runtime) pullSecret(ns, name string, req *sdk.DeployRequest) (*corev1ac.SecretApplyConfiguration, error) {
	c := req.PullCredentials
	server := c.Registry
	if server == "" {
		server, _, _ = strings.Cut(c.Repository, "/")
	}
	auth := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{
		server: map[string]string{"username": c.Username, "password": c.Password, "auth": auth},
	}})
	if err != nil {
		return nil, fmt.Errorf("encode image pull secret: %w", err)
	}
	ann := map[string]string{}
	if !c.ExpiresAt.IsZero() {
		ann["rise.dev/expires-at"] = c.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return corev1ac.Secret(name+"-pull", ns).
		WithLabels(r.deploymentLabels(req.Target(), req.DeploymentID)).
		WithAnnotations(r.annotations(ann)).
		WithType(corev1.SecretTypeDockerConfigJson).
		WithData(map[string][]byte{corev1.DockerConfigJsonKey: cfg}), nil
}

// deploymentObject is the Deployment running req's image.
func (r *Runtime) deploymentObject(ns, name string, req *sdk.DeployRequest) (*appsv1ac.DeploymentApplyConfiguration, error) {
	w := req.Workload
	labels := r.deploymentLabels(req.Target(), req.DeploymentID)
	port := int32(w.Port)

	var env []*corev1ac.EnvVarApplyConfiguration
	for _, k := range slices.Sorted(maps.Keys(w.Env)) {
		env = append(env, corev1ac.EnvVar().WithName(k).WithValue(w.Env[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(w.SecretEnv)) {
		env = append(env, corev1ac.EnvVar().WithName(k).WithValueFrom(corev1ac.EnvVarSource().
			WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(name+"-env").WithKey(k))))
	}
	if _, ok := w.Env["PORT"]; !ok && port > 0 {
		env = append(env, corev1ac.EnvVar().WithName("PORT").WithValue(fmt.Sprint(port)))
	}

	res := corev1ac.ResourceRequirements()
	limits := corev1.ResourceList{}
	if w.Resources.CPU != "" {
		q, err := validQuantity("cpu", w.Resources.CPU)
		if err != nil {
			return nil, err
		}
		limits[corev1.ResourceCPU] = q
	}
	if w.Resources.Memory != "" {
		q, err := validQuantity("memory", w.Resources.Memory)
		if err != nil {
			return nil, err
		}
		limits[corev1.ResourceMemory] = q
	}
	if len(limits) > 0 {
		res = res.WithLimits(limits).WithRequests(limits)
	}

	probe := func() *corev1ac.ProbeApplyConfiguration {
		h := corev1ac.ProbeHandler()
		if w.HealthPath != "" {
			h = h.WithHTTPGet(corev1ac.HTTPGetAction().WithPath(w.HealthPath).WithPort(intstr.FromString("http")))
		} else {
			h = h.WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString("http")))
		}
		return &corev1ac.ProbeApplyConfiguration{ProbeHandlerApplyConfiguration: *h}
	}
	readiness := probe().WithPeriodSeconds(5).WithFailureThreshold(3)
	liveness := probe().WithInitialDelaySeconds(10).WithPeriodSeconds(10).WithFailureThreshold(6)

	sc := corev1ac.SecurityContext().
		WithAllowPrivilegeEscalation(false).
		WithRunAsNonRoot(true).
		WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
		WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))
	if r.RunAsUser > 0 {
		sc = sc.WithRunAsUser(r.RunAsUser)
	}

	c := corev1ac.Container().
		WithName(containerName).
		WithImage(req.Artifact.Ref()).
		WithImagePullPolicy(r.pullPolicy(req)).
		WithEnv(env...).
		WithResources(res).
		WithSecurityContext(sc)
	if len(w.Command) > 0 {
		c = c.WithArgs(w.Command...) // like `docker run IMAGE CMD...`: replaces the image's CMD
	}
	if port > 0 {
		c = c.WithPorts(corev1ac.ContainerPort().WithName("http").WithContainerPort(port).WithProtocol(corev1.ProtocolTCP)).
			WithReadinessProbe(readiness).
			WithLivenessProbe(liveness)
	}

	pod := corev1ac.PodSpec().
		WithContainers(c).
		WithAutomountServiceAccountToken(false).
		WithEnableServiceLinks(false).
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
	if req.PullCredentials != nil {
		pod = pod.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(name + "-pull"))
	}

	replicas := int32(w.Replicas)
	if replicas == 0 {
		replicas = 1
	}
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	ann := r.annotations(map[string]string{annotationDeploymentID: req.DeploymentID})
	return appsv1ac.Deployment(name, ns).
		WithLabels(labels).
		WithAnnotations(ann).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			WithRevisionHistoryLimit(2).
			WithProgressDeadlineSeconds(600).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector(req.Project, req.Group, req.DeploymentID))).
			WithStrategy(appsv1ac.DeploymentStrategy().
				WithType(appsv1.RollingUpdateDeploymentStrategyType).
				WithRollingUpdate(appsv1ac.RollingUpdateDeployment().WithMaxUnavailable(zero).WithMaxSurge(one))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(labels).
				WithAnnotations(ann).
				WithSpec(pod))), nil
}

// pullPolicy is Always for images pulled with credentials: a node that
// has the image cached (pulled for another project) must not start it
// without the kubelet checking this project's pull Secret first.
func (r *Runtime) pullPolicy(req *sdk.DeployRequest) corev1.PullPolicy {
	if req.PullCredentials != nil {
		return corev1.PullAlways
	}
	return corev1.PullPolicy(r.ImagePullPolicy)
}

// serviceObject routes the group's Service to deployment id.
func (r *Runtime) serviceObject(ns string, t apphost.Target, id string, port uint32) *corev1ac.ServiceApplyConfiguration {
	if port == 0 {
		port = 80
	}
	project, group := t.Project, t.GroupName()
	return corev1ac.Service(r.serviceName(t), ns).
		WithLabels(r.targetLabels(t)).
		WithAnnotations(r.annotations(map[string]string{annotationTarget: id})).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(selector(project, group, id)).
			WithPorts(corev1ac.ServicePort().WithName("http").WithPort(80).
				WithTargetPort(intstr.FromInt32(int32(port))).WithProtocol(corev1.ProtocolTCP)))
}

// ingressObject routes the target's host (sdk/apphost) to its Service, and
// for production's default group the project's verified custom domains too,
// each with TLS (see domainsTLS).
func (r *Runtime) ingressObject(ns string, t apphost.Target, visibility string, domains []string) *netv1ac.IngressApplyConfiguration {
	project := t.Project
	host := r.host(t)
	ann := map[string]string{}
	maps.Copy(ann, r.IngressAnnotations)
	if r.CertManagerIssuer != "" {
		if r.CertManagerIssuerKind == "Issuer" {
			ann["cert-manager.io/issuer"] = r.CertManagerIssuer
		} else {
			ann["cert-manager.io/cluster-issuer"] = r.CertManagerIssuer
		}
	}
	if visibility == "private" {
		maps.Copy(ann, r.authAnnotations(project))
	}
	pathType := networkingv1.PathTypePrefix
	rule := func(host string) *netv1ac.IngressRuleApplyConfiguration {
		return netv1ac.IngressRule().WithHost(host).
			WithHTTP(netv1ac.HTTPIngressRuleValue().WithPaths(netv1ac.HTTPIngressPath().
				WithPath("/").WithPathType(pathType).
				WithBackend(netv1ac.IngressBackend().WithService(netv1ac.IngressServiceBackend().
					WithName(r.serviceName(t)).
					WithPort(netv1ac.ServiceBackendPort().WithName("http"))))))
	}
	if t.Suffix() != "" {
		domains = nil // custom domains serve the project's default group
	}
	spec := netv1ac.IngressSpec().WithRules(rule(host))
	for _, d := range domains {
		spec = spec.WithRules(rule(d))
	}
	if r.IngressClass != "" {
		spec = spec.WithIngressClassName(r.IngressClass)
	}
	switch {
	case r.TLSSecret != "":
		spec = spec.WithTLS(netv1ac.IngressTLS().WithHosts(host).WithSecretName(r.TLSSecret))
	case r.CertManagerIssuer != "":
		spec = spec.WithTLS(netv1ac.IngressTLS().WithHosts(host).WithSecretName(r.serviceName(t) + "-tls"))
	}
	if tls := r.domainsTLS(t, domains); tls != nil {
		spec = spec.WithTLS(tls)
	}
	return netv1ac.Ingress(r.serviceName(t), ns).
		WithLabels(r.targetLabels(t)).
		WithAnnotations(r.annotations(ann)).
		WithSpec(spec)
}

// authAnnotations make the ingress controller ask rise before serving a
// private project (ingress-nginx external auth by default).
func (r *Runtime) authAnnotations(project string) map[string]string {
	src := r.AuthAnnotations
	if len(src) == 0 {
		src = map[string]string{
			"nginx.ingress.kubernetes.io/auth-url":    "{auth_url}",
			"nginx.ingress.kubernetes.io/auth-signin": "{signin_url}",
			// Authorization too: rise answers it empty for a rise token,
			// which ingress-nginx then drops from the request to the app.
			"nginx.ingress.kubernetes.io/auth-response-headers": "X-Rise-User,X-Rise-Email,Authorization",
		}
	}
	rep := strings.NewReplacer("{auth_url}", r.AuthURL, "{signin_url}", r.SigninURL)
	out := make(map[string]string, len(src))
	for k, v := range src {
		out[k] = strings.ReplaceAll(rep.Replace(v), "{project}", project)
	}
	return out
}

// networkPolicy admits traffic to the project's pods only from the ingress
// controller's namespace and from the project's own namespace.
func (r *Runtime) networkPolicy(ns, project string) *netv1ac.NetworkPolicyApplyConfiguration {
	return netv1ac.NetworkPolicy(safeName(project+"-ingress", 63), ns).
		WithLabels(r.projectLabels(project, "")).
		WithAnnotations(r.annotations(nil)).
		WithSpec(netv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{
				LabelManagedBy: managedBy, LabelProject: labelValue(project)})).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(netv1ac.NetworkPolicyIngressRule().WithFrom(
				netv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().
					WithMatchLabels(map[string]string{"kubernetes.io/metadata.name": r.IngressNamespace})),
				netv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().
					WithMatchLabels(map[string]string{"kubernetes.io/metadata.name": ns})),
			)))
}

// edgeName names the ExternalName Service and the Ingress that route a
// private app's /.rise/ paths to rise.
func (r *Runtime) edgeName(t apphost.Target) string {
	return safeName(r.serviceName(t)+"-rise-edge", 63)
}

func (r *Runtime) edgeHostPort() (string, int) {
	host, port, ok := strings.Cut(r.EdgeService, ":")
	if !ok {
		return host, 80
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return host, -1
	}
	return host, n
}

// edgeService points at rise's own Service (in another namespace).
func (r *Runtime) edgeService(ns string, t apphost.Target) *corev1ac.ServiceApplyConfiguration {
	host, port := r.edgeHostPort()
	return corev1ac.Service(r.edgeName(t), ns).
		WithLabels(r.targetLabels(t)).
		WithAnnotations(r.annotations(nil)).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeExternalName).
			WithExternalName(host).
			WithPorts(corev1ac.ServicePort().WithName("http").WithPort(int32(port)).WithProtocol(corev1.ProtocolTCP)))
}

// edgeIngress routes <host>/.rise/ to rise, without the auth annotations
// (the login callback is what establishes the app session).
func (r *Runtime) edgeIngress(ns string, t apphost.Target) *netv1ac.IngressApplyConfiguration {
	host := r.host(t)
	_, port := r.edgeHostPort()
	pathType := networkingv1.PathTypePrefix
	spec := netv1ac.IngressSpec().WithRules(netv1ac.IngressRule().WithHost(host).
		WithHTTP(netv1ac.HTTPIngressRuleValue().WithPaths(netv1ac.HTTPIngressPath().
			WithPath("/.rise/").WithPathType(pathType).
			WithBackend(netv1ac.IngressBackend().WithService(netv1ac.IngressServiceBackend().
				WithName(r.edgeName(t)).
				WithPort(netv1ac.ServiceBackendPort().WithNumber(int32(port))))))))
	if r.IngressClass != "" {
		spec = spec.WithIngressClassName(r.IngressClass)
	}
	switch {
	case r.TLSSecret != "":
		spec = spec.WithTLS(netv1ac.IngressTLS().WithHosts(host).WithSecretName(r.TLSSecret))
	case r.CertManagerIssuer != "":
		spec = spec.WithTLS(netv1ac.IngressTLS().WithHosts(host).WithSecretName(r.serviceName(t) + "-tls"))
	}
	return netv1ac.Ingress(r.edgeName(t), ns).
		WithLabels(r.targetLabels(t)).
		WithAnnotations(r.annotations(nil)).
		WithSpec(spec)
}

// defaultEgressDeny: everything but the internet — RFC 1918, shared
// (100.64/10, where some clusters put pods), link-local (cloud metadata,
// 169.254.169.254) and the IPv6 unique-local and link-local ranges.
var defaultEgressDeny = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"169.254.0.0/16", "fc00::/7", "fe80::/10"}

// egressPolicy limits where the project's pods connect to: DNS (any
// resolver, port 53), the project's own pods, egress_allow_namespaces,
// egress_allow_cidrs and the internet minus egress_deny_cidrs. Other rise
// namespaces are pods on the cluster's (private) pod network, so the
// default deny list covers them; ipBlock is also no way into them on CNIs
// that match it against pod addresses.
func (r *Runtime) egressPolicy(ns, project string) *netv1ac.NetworkPolicyApplyConfiguration {
	own := map[string]string{LabelManagedBy: managedBy, LabelProject: labelValue(project)}
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns := intstr.FromInt32(53)
	rules := []*netv1ac.NetworkPolicyEgressRuleApplyConfiguration{
		netv1ac.NetworkPolicyEgressRule().WithPorts(
			netv1ac.NetworkPolicyPort().WithProtocol(udp).WithPort(dns),
			netv1ac.NetworkPolicyPort().WithProtocol(tcp).WithPort(dns)),
		netv1ac.NetworkPolicyEgressRule().WithTo(
			netv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(own))),
	}
	var peers []*netv1ac.NetworkPolicyPeerApplyConfiguration
	var except4, except6 []string
	for _, c := range r.EgressDenyCIDRs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
			except4 = append(except4, c)
		} else if err == nil {
			except6 = append(except6, c)
		}
	}
	peers = append(peers,
		netv1ac.NetworkPolicyPeer().WithIPBlock(netv1ac.IPBlock().WithCIDR("0.0.0.0/0").WithExcept(except4...)),
		netv1ac.NetworkPolicyPeer().WithIPBlock(netv1ac.IPBlock().WithCIDR("::/0").WithExcept(except6...)))
	for _, c := range r.EgressAllowCIDRs {
		peers = append(peers, netv1ac.NetworkPolicyPeer().WithIPBlock(netv1ac.IPBlock().WithCIDR(c)))
	}
	for _, n := range r.EgressAllowNamespaces {
		peers = append(peers, netv1ac.NetworkPolicyPeer().WithNamespaceSelector(metav1ac.LabelSelector().
			WithMatchLabels(map[string]string{corev1.LabelMetadataName: n})))
	}
	rules = append(rules, netv1ac.NetworkPolicyEgressRule().WithTo(peers...))
	return netv1ac.NetworkPolicy(safeName(project+"-egress", 63), ns).
		WithLabels(r.projectLabels(project, "")).
		WithAnnotations(r.annotations(nil)).
		WithSpec(netv1ac.NetworkPolicySpec().
			WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(own)).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(rules...))
}

// domainsTLS is the Ingress TLS entry of a project's custom domains: the
// secret named by domains_tls_secret (a certificate you manage), or one
// cert-manager fills through the issuer annotation; nil without either.
func (r *Runtime) domainsTLS(t apphost.Target, domains []string) *netv1ac.IngressTLSApplyConfiguration {
	if len(domains) == 0 {
		return nil
	}
	switch {
	case r.DomainsTLSSecret != "":
		return netv1ac.IngressTLS().WithHosts(domains...).WithSecretName(r.DomainsTLSSecret)
	case r.CertManagerIssuer != "":
		return netv1ac.IngressTLS().WithHosts(domains...).WithSecretName(r.serviceName(t) + "-domains-tls")
	}
	return nil
}
