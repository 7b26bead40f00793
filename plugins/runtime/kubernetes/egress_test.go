package kubernetes

import (
	"net/netip"
	"testing"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/apphost"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// peer is a connection's destination for egressAllowed.
type peer struct {
	ip        string
	port      int32
	proto     corev1.Protocol
	namespace string            // "" = not a pod
	nsLabels  map[string]string // the namespace's labels
	podLabels map[string]string
}

// egressAllowed evaluates NetworkPolicy egress semantics for a pod with
// labels src in namespace ns. A pod destination is allowed only if it is
// allowed both when ipBlock matches pod addresses (Calico) and when it
// does not (Cilium): the policy must hold on either kind of CNI.
func egressAllowed(t *testing.T, pols []networkingv1.NetworkPolicy, ns string, src map[string]string, dst peer) bool {
	t.Helper()
	match := func(sel *metav1.LabelSelector, l map[string]string) bool {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		return s.Matches(labels.Set(l))
	}
	// byIP: CNIs that match ipBlock against pod addresses too; bySel: those
	// that match pods only by selectors.
	isolated, byIP, bySel := false, false, false
	for _, p := range pols {
		if p.Namespace != ns || !match(&p.Spec.PodSelector, src) {
			continue
		}
		egress := false
		for _, pt := range p.Spec.PolicyTypes {
			egress = egress || pt == networkingv1.PolicyTypeEgress
		}
		if !egress {
			continue
		}
		isolated = true
		for _, rule := range p.Spec.Egress {
			portOK := len(rule.Ports) == 0
			for _, pp := range rule.Ports {
				proto := corev1.ProtocolTCP
				if pp.Protocol != nil {
					proto = *pp.Protocol
				}
				portOK = portOK || proto == dst.proto && (pp.Port == nil || pp.Port.IntVal == dst.port)
			}
			if !portOK {
				continue
			}
			if len(rule.To) == 0 {
				byIP, bySel = true, true
			}
			for _, to := range rule.To {
				switch {
				case to.IPBlock != nil:
					ip := netip.MustParseAddr(dst.ip)
					in := netip.MustParsePrefix(to.IPBlock.CIDR).Contains(ip)
					for _, e := range to.IPBlock.Except {
						in = in && !netip.MustParsePrefix(e).Contains(ip)
					}
					byIP = byIP || in
					bySel = bySel || in && dst.namespace == ""
				case dst.namespace == "":
				case to.NamespaceSelector == nil:
					if dst.namespace == ns && match(to.PodSelector, dst.podLabels) {
						byIP, bySel = true, true
					}
				default:
					if match(to.NamespaceSelector, dst.nsLabels) && (to.PodSelector == nil || match(to.PodSelector, dst.podLabels)) {
						byIP, bySel = true, true
					}
				}
			}
		}
	}
	if !isolated {
		return true
	}
	return byIP && bySel
}

// TestEgressPolicy: what a pod of project B may connect to, evaluated on the
// NetworkPolicies the real API server stored for it.
func TestEgressPolicy(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c, func(r *Runtime) {
		r.EgressAllowNamespaces = []string{"shared-db"}
		r.EgressAllowCIDRs = []string{"10.20.0.5/32"}
	})
	pA, pB := uniqueProject("ega"), uniqueProject("egb")
	deploy(t, r, request(pA, "1"))
	deploy(t, r, request(pB, "1"))
	nsB := r.namespaceFor(pB)
	pols, err := cs.NetworkingV1().NetworkPolicies(nsB).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsLabels := func(ns string) map[string]string {
		n, err := cs.CoreV1().Namespaces().Get(ctx(t), ns, metav1.GetOptions{})
		if err != nil {
			return map[string]string{corev1.LabelMetadataName: ns}
		}
		return n.Labels
	}
	src := r.deploymentLabels(apphost.Target{Project: pB}, "1")
	podA := r.deploymentLabels(apphost.Target{Project: pA}, "1")
	for _, tc := range []struct {
		what string
		dst  peer
		want bool
	}{
		{"cloud metadata", peer{ip: "169.254.169.254", port: 80, proto: corev1.ProtocolTCP}, false},
		{"project A's pod", peer{ip: "10.244.1.7", port: 8080, proto: corev1.ProtocolTCP,
			namespace: r.namespaceFor(pA), nsLabels: nsLabels(r.namespaceFor(pA)), podLabels: podA}, false},
		{"project A's pod on a 100.64 pod network", peer{ip: "100.64.3.9", port: 8080, proto: corev1.ProtocolTCP,
			namespace: r.namespaceFor(pA), nsLabels: nsLabels(r.namespaceFor(pA)), podLabels: podA}, false},
		{"a private address", peer{ip: "192.168.1.10", port: 5432, proto: corev1.ProtocolTCP}, false},
		{"the internet", peer{ip: "93.184.216.34", port: 443, proto: corev1.ProtocolTCP}, true},
		{"DNS", peer{ip: "10.96.0.10", port: 53, proto: corev1.ProtocolUDP}, true},
		{"its own replica", peer{ip: "10.244.2.3", port: 8080, proto: corev1.ProtocolTCP,
			namespace: nsB, nsLabels: nsLabels(nsB), podLabels: r.deploymentLabels(apphost.Target{Project: pB}, "2")}, true},
		{"allow-listed namespace", peer{ip: "10.244.3.3", port: 5432, proto: corev1.ProtocolTCP,
			namespace: "shared-db", nsLabels: map[string]string{corev1.LabelMetadataName: "shared-db"}}, true},
		{"allow-listed address", peer{ip: "10.20.0.5", port: 5432, proto: corev1.ProtocolTCP}, true},
	} {
		if got := egressAllowed(t, pols.Items, nsB, src, tc.dst); got != tc.want {
			t.Errorf("%s (%s:%d): allowed = %v, want %v", tc.what, tc.dst.ip, tc.dst.port, got, tc.want)
		}
	}
}

func TestEgressValidation(t *testing.T) {
	for _, bad := range []func(*Runtime){
		func(r *Runtime) { r.EgressDenyCIDRs = []string{"169.254.169.254"} },
		func(r *Runtime) { r.EgressDenyCIDRs = []string{"10.0.0.1/8"} },
		func(r *Runtime) { r.EgressAllowCIDRs = []string{"0.0.0.0/0"} },
		func(r *Runtime) { r.EgressAllowNamespaces = []string{"Not_A_Namespace"} },
	} {
		r := provisioned(t, &Runtime{Domain: "apps.example.com"})
		bad(r)
		if err := r.Validate(); err == nil {
			t.Errorf("accepted %+v %+v %+v", r.EgressDenyCIDRs, r.EgressAllowCIDRs, r.EgressAllowNamespaces)
		}
	}
	r := provisioned(t, &Runtime{Domain: "apps.example.com"})
	if len(r.EgressDenyCIDRs) != len(defaultEgressDeny) {
		t.Fatalf("default deny list = %v", r.EgressDenyCIDRs)
	}
	withCreds := &sdk.DeployRequest{PullCredentials: &sdk.Credentials{Registry: "r"}}
	if r.pullPolicy(withCreds) != corev1.PullAlways || r.pullPolicy(&sdk.DeployRequest{}) != corev1.PullIfNotPresent {
		t.Fatal("pull policy: images with credentials must be pulled Always")
	}
}
