package kubernetes

import (
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/riseplatform/rise/dev/kubetest"
)

func ingressHosts(ing *networkingv1.Ingress) []string {
	var hosts []string
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, r.Host)
		if r.HTTP == nil || len(r.HTTP.Paths) != 1 || r.HTTP.Paths[0].Backend.Service == nil ||
			r.HTTP.Paths[0].Backend.Service.Name != ing.Name {
			hosts = append(hosts, "(bad backend for "+r.Host+")")
		}
	}
	return hosts
}

// Verified custom domains become Ingress hosts with TLS on the real API
// server: through cert-manager (the issuer annotation and a secret it
// fills) or a named secret; removed domains leave the Ingress on the next
// deploy; other deployment groups never get them.
func TestCustomDomainsIngress(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	r := newRuntime(t, c, func(r *Runtime) { r.CertManagerIssuer = "letsencrypt" })
	project := uniqueProject("dom")
	ns := "rise-" + project
	req := request(project, "20261205-060000")
	req.Domains = []string{"www.shop.example", "xn--bcher-kva.example"}
	deploy(t, r, req)
	ing, err := cs.NetworkingV1().Ingresses(ns).Get(ctx(t), project, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ingressHosts(ing), []string{project + ".apps.example.com", "www.shop.example", "xn--bcher-kva.example"}; !slices.Equal(got, want) {
		t.Errorf("ingress hosts %v, want %v", got, want)
	}
	if ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" {
		t.Errorf("annotations %v", ing.Annotations)
	}
	if len(ing.Spec.TLS) != 2 || !slices.Equal(ing.Spec.TLS[1].Hosts, req.Domains) || ing.Spec.TLS[1].SecretName != project+"-domains-tls" {
		t.Errorf("TLS %+v", ing.Spec.TLS)
	}

	// A removed domain leaves the Ingress.
	req = request(project, "20261205-060100")
	req.Domains = []string{"www.shop.example"}
	deploy(t, r, req)
	ing, err = cs.NetworkingV1().Ingresses(ns).Get(ctx(t), project, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ingressHosts(ing); !slices.Equal(got, []string{project + ".apps.example.com", "www.shop.example"}) {
		t.Errorf("after removing a domain: hosts %v", got)
	}
	if len(ing.Spec.TLS) != 2 || !slices.Equal(ing.Spec.TLS[1].Hosts, []string{"www.shop.example"}) {
		t.Errorf("after removing a domain: TLS %+v", ing.Spec.TLS)
	}

	// The controller deploys a running deployment again, same id, when the
	// project's verified domains change (server/deploy/domainsync.go): the
	// Ingress follows without a new deployment, both ways.
	for _, domains := range [][]string{{"new.shop.example", "www.shop.example"}, nil} {
		req.Domains = domains
		deploy(t, r, req)
		ing, err = cs.NetworkingV1().Ingresses(ns).Get(ctx(t), project, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ingressHosts(ing), append([]string{project + ".apps.example.com"}, domains...); !slices.Equal(got, want) {
			t.Errorf("same deployment with domains %v: hosts %v, want %v", domains, got, want)
		}
		if len(domains) == 0 && len(ing.Spec.TLS) != 1 || len(domains) > 0 && (len(ing.Spec.TLS) != 2 || !slices.Equal(ing.Spec.TLS[1].Hosts, domains)) {
			t.Errorf("same deployment with domains %v: TLS %+v", domains, ing.Spec.TLS)
		}
	}

	// A named secret instead of cert-manager; a preview group gets no domains.
	r2 := newRuntime(t, c, func(r *Runtime) { r.DomainsTLSSecret = "shop-certs" })
	project2 := uniqueProject("dom")
	req = request(project2, "20261205-060200")
	req.Domains = []string{"shop.example"}
	deploy(t, r2, req)
	ing, err = cs.NetworkingV1().Ingresses("rise-"+project2).Get(ctx(t), project2, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "shop-certs" || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{"shop.example"}) {
		t.Errorf("named secret TLS %+v", ing.Spec.TLS)
	}
	if _, ok := ing.Annotations["cert-manager.io/cluster-issuer"]; ok {
		t.Errorf("cert-manager annotation without an issuer: %v", ing.Annotations)
	}
	preview := request(project2, "20261205-060300")
	preview.Group = "preview"
	preview.Domains = []string{"shop.example"}
	deploy(t, r2, preview)
	ings, err := cs.NetworkingV1().Ingresses("rise-"+project2).List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ings.Items {
		if i.Name != project2 && slices.Contains(ingressHosts(&i), "shop.example") {
			t.Errorf("group ingress %s serves the custom domain: %v", i.Name, ingressHosts(&i))
		}
	}
}
