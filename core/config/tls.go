package config

import (
	"net/mail"
	"strings"
	"time"
)

// TLS makes the server serve HTTPS on listen, for rise itself and every app
// host and verified custom domain: certificates from ACME (acme block,
// obtained on demand, renewed automatically, stored in PostgreSQL so every
// replica shares them) and/or one static certificate (cert_file and
// key_file, e.g. a wildcard for the apps domain, used for the names it
// covers). app_scheme is "https" with it.
type TLS struct {
	CertFile string `hcl:"cert_file,optional"`
	KeyFile  string `hcl:"key_file,optional"`
	// RedirectListen is a plain-HTTP listener (e.g. ":80") that redirects
	// to HTTPS and answers ACME HTTP-01 challenges. Empty: none.
	RedirectListen string `hcl:"redirect_listen,optional"`
	// HSTS is the max-age of the Strict-Transport-Security header on
	// HTTPS responses, e.g. "8760h"; "0" sends none. Default "0".
	HSTS string `hcl:"hsts,optional"`
	// HSTSSubdomains adds includeSubDomains (only when every subdomain of
	// every host is HTTPS).
	HSTSSubdomains bool  `hcl:"hsts_include_subdomains,optional"`
	ACME           *ACME `hcl:"acme,block"`
}

// ACME configures the certificate authority.
type ACME struct {
	Email string `hcl:"email,optional"`
	// CA is the ACME directory URL (default Let's Encrypt's production).
	CA string `hcl:"ca,optional"`
	// CARoot is a PEM file of roots trusted for the CA's own HTTPS
	// endpoint (a private CA, Pebble in tests). Default: the system's.
	CARoot string `hcl:"ca_root,optional"`
	// Resolver is the DNS server ("host:port") used for ACME's DNS
	// lookups. Default: the system's.
	Resolver string `hcl:"resolver,optional"`
}

// HSTSMaxAge is HSTS parsed (LoadServer validated it); 0 means off.
func (t *TLS) HSTSMaxAge() time.Duration {
	if t == nil {
		return 0
	}
	d, err := time.ParseDuration(t.HSTS)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// Domains configures custom domains (rise domain add).
type Domains struct {
	// Target is the host name custom domains point at with a CNAME
	// (default: public_url's host).
	Target string `hcl:"target,optional"`
	// Addresses are the edge's public IP addresses, for apex domains
	// (A/AAAA records instead of a CNAME).
	Addresses []string `hcl:"addresses,optional"`
	// Resolver is the DNS server ("host:port") verification asks.
	// Default: the system's.
	Resolver string `hcl:"resolver,optional"`
	// Limit is the most domains per project (default 20).
	Limit int `hcl:"limit,optional"`
}

func (s *Server) checkTLS(c *checker, root node) {
	t := s.TLS
	if t == nil {
		return
	}
	n := root.block("tls", 0)
	if t.ACME == nil && t.CertFile == "" {
		c.errorf(n.rng, "Incomplete tls block", "tls needs an acme block, or cert_file and key_file, or both.")
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		c.errorf(n.rng, "Incomplete tls block", "cert_file and key_file go together.")
	}
	t.CertFile = resolvePath(t.CertFile, s.Filename)
	t.KeyFile = resolvePath(t.KeyFile, s.Filename)
	if t.HSTS != "" {
		if d, err := time.ParseDuration(t.HSTS); err != nil || d < 0 {
			c.errorf(n.attr("hsts"), "Invalid hsts", "hsts is the Strict-Transport-Security max-age, a duration such as \"8760h\" (or \"0\" for none), not %q.", t.HSTS)
		}
	}
	if t.RedirectListen != "" {
		if msg := checkListen(t.RedirectListen); msg != "" {
			c.errorf(n.attr("redirect_listen"), "Invalid redirect_listen", "%s.", msg)
		} else if t.RedirectListen == s.Listen {
			c.errorf(n.attr("redirect_listen"), "Invalid redirect_listen", "redirect_listen must differ from listen, which serves HTTPS.")
		}
	}
	if s.AppScheme == "http" {
		c.errorf(root.attr("app_scheme"), "Invalid app_scheme", "app_scheme is \"https\" when the tls block is set.")
	}
	if a := t.ACME; a != nil {
		an := n.block("acme", 0)
		if a.Email != "" {
			if _, err := mail.ParseAddress(a.Email); err != nil {
				c.errorf(an.attr("email"), "Invalid acme email", "%q is not an email address.", a.Email)
			}
		}
		if a.CA != "" {
			if msg := checkURL(a.CA, "https"); msg != "" {
				c.errorf(an.attr("ca"), "Invalid acme ca", "%s; it is the ACME directory URL, e.g. \"https://acme-v02.api.letsencrypt.org/directory\".", msg)
			}
		}
		a.CARoot = resolvePath(a.CARoot, s.Filename)
		if a.Resolver != "" && !strings.Contains(a.Resolver, ":") {
			c.errorf(an.attr("resolver"), "Invalid acme resolver", "resolver is \"host:port\", e.g. \"1.1.1.1:53\".")
		}
	}
}

func (s *Server) checkDomains(c *checker, root node) {
	d := s.Domains
	if d == nil {
		return
	}
	n := root.block("domains", 0)
	if d.Resolver != "" && !strings.Contains(d.Resolver, ":") {
		c.errorf(n.attr("resolver"), "Invalid domains resolver", "resolver is \"host:port\", e.g. \"1.1.1.1:53\".")
	}
	if d.Limit < 0 {
		c.errorf(n.attr("limit"), "Invalid domains limit", "limit is the most domains per project, a positive number.")
	}
}
