// Package edgetls terminates HTTPS for rise and its apps with certmagic:
// certificates from ACME, obtained on demand during the first TLS handshake
// for a name that Options.Allow accepts (rise's own host, app hosts of
// existing projects, verified custom domains — never arbitrary names),
// renewed automatically, and kept in PostgreSQL (server/certstore) so every
// replica serves the same certificates and a restart does not re-issue. A
// static certificate (cert_file/key_file, e.g. a wildcard for the apps
// domain) serves the names it covers. The plain-HTTP listener redirects to
// HTTPS and answers ACME HTTP-01 challenges; HTTPS responses carry HSTS
// when configured.
package edgetls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/certmagic"
	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"

	"github.com/riseplatform/rise/core/config"
)

// DefaultCA is the ACME directory used when acme.ca is empty.
const DefaultCA = certmagic.LetsEncryptProductionCA

// Options configure a Manager.
type Options struct {
	TLS *config.TLS // required
	// Storage keeps certificates, keys and ACME accounts (certstore.New).
	Storage certmagic.Storage
	// Allow decides whether a certificate may be obtained for name
	// (on-demand issuance); nil refuses every name.
	Allow func(ctx context.Context, name string) error
	// Listen is the HTTPS listen address ("host:port"): the TLS-ALPN-01
	// challenge is answered there, and redirects go to its port.
	Listen string
	Log    hclog.Logger
}

// Manager holds the certificates and the TLS configuration.
type Manager struct {
	o        Options
	magic    *certmagic.Config
	cache    *certmagic.Cache
	acme     *certmagic.ACMEIssuer // nil without an acme block
	tlsCfg   *tls.Config
	hsts     string
	httpsPrt string // port of the HTTPS listener, "" for 443

	obtained, renewed, failed atomic.Int64
}

// Stats count certificate events since the Manager started.
type Stats struct{ Obtained, Renewed, Failed int64 }

// New builds a Manager; Stop releases it.
func New(ctx context.Context, o Options) (*Manager, error) {
	if o.TLS == nil {
		return nil, errors.New("edgetls: no tls config")
	}
	if o.Storage == nil {
		return nil, errors.New("edgetls: no certificate storage")
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	m := &Manager{o: o}
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("edgetls: listen address %q: %w", o.Listen, err)
	}
	if port != "443" {
		m.httpsPrt = port
	}
	if d := o.TLS.HSTSMaxAge(); d > 0 {
		m.hsts = "max-age=" + strconv.Itoa(int(d.Seconds()))
		if o.TLS.HSTSSubdomains {
			m.hsts += "; includeSubDomains"
		}
	}
	nop := zap.NewNop()
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           nop,
	})
	cm := certmagic.Config{Storage: o.Storage, Logger: nop, OnEvent: m.event,
		OCSP: certmagic.OCSPConfig{DisableStapling: true}}
	if o.TLS.ACME != nil {
		allow := o.Allow
		if allow == nil {
			allow = func(context.Context, string) error { return errors.New("no names are allowed") }
		}
		cm.OnDemand = &certmagic.OnDemandConfig{DecisionFunc: allow}
	}
	m.magic = certmagic.New(m.cache, cm)
	if a := o.TLS.ACME; a != nil {
		iss := certmagic.ACMEIssuer{
			CA: a.CA, Email: a.Email, Agreed: true, Resolver: a.Resolver, Logger: nop,
			ListenHost:           host,
			DisableHTTPChallenge: o.TLS.RedirectListen == "",
		}
		if iss.CA == "" {
			iss.CA = DefaultCA
		}
		if iss.AltTLSALPNPort, err = strconv.Atoi(port); err != nil || iss.AltTLSALPNPort == 0 {
			iss.DisableTLSALPNChallenge = true
		}
		if rl := o.TLS.RedirectListen; rl != "" {
			if _, p, err := net.SplitHostPort(rl); err == nil {
				iss.AltHTTPPort, _ = strconv.Atoi(p)
			}
		}
		if a.CARoot != "" {
			pem, err := os.ReadFile(a.CARoot)
			if err != nil {
				m.cache.Stop()
				return nil, fmt.Errorf("edgetls: acme ca_root: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				m.cache.Stop()
				return nil, fmt.Errorf("edgetls: acme ca_root %s holds no PEM certificate", a.CARoot)
			}
			iss.TrustedRoots = pool
		}
		m.acme = certmagic.NewACMEIssuer(m.magic, iss)
		m.magic.Issuers = []certmagic.Issuer{m.acme}
	}
	if t := o.TLS; t.CertFile != "" {
		if _, err := m.magic.CacheUnmanagedCertificatePEMFile(ctx, t.CertFile, t.KeyFile, nil); err != nil {
			m.cache.Stop()
			return nil, fmt.Errorf("edgetls: static certificate %s: %w", t.CertFile, err)
		}
	}
	m.tlsCfg = m.magic.TLSConfig()
	m.tlsCfg.MinVersion = tls.VersionTLS12
	return m, nil
}

// event logs certmagic's certificate events and counts them.
func (m *Manager) event(_ context.Context, name string, data map[string]any) error {
	renewal, _ := data["renewal"].(bool)
	id := fmt.Sprint(data["identifier"])
	switch name {
	case "cert_obtaining":
		m.o.Log.Info("obtaining a certificate", "name", id, "renewal", renewal)
	case "cert_obtained":
		if renewal {
			m.renewed.Add(1)
		} else {
			m.obtained.Add(1)
		}
		m.o.Log.Info("certificate obtained", "name", id, "renewal", renewal, "issuer", fmt.Sprint(data["issuer"]))
	case "cert_failed":
		m.failed.Add(1)
		m.o.Log.Error("obtaining a certificate failed", "name", id, "renewal", renewal, "error", fmt.Sprint(data["error"]))
	}
	return nil
}

// Stats returns the certificate events counted so far.
func (m *Manager) Stats() Stats {
	return Stats{Obtained: m.obtained.Load(), Renewed: m.renewed.Load(), Failed: m.failed.Load()}
}

// TLSConfig is the HTTPS listener's configuration (certificates by SNI,
// on-demand issuance, TLS-ALPN-01 challenges).
func (m *Manager) TLSConfig() *tls.Config { return m.tlsCfg }

// Wrap adds the HSTS header to HTTPS responses.
func (m *Manager) Wrap(next http.Handler) http.Handler {
	if m.hsts == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", m.hsts)
		next.ServeHTTP(w, r)
	})
}

// RedirectListen is the plain-HTTP listen address ("" for none).
func (m *Manager) RedirectListen() string { return m.o.TLS.RedirectListen }

// RedirectHandler answers plain HTTP: ACME HTTP-01 challenges (this or any
// replica's), and a permanent redirect to the same URL over HTTPS for
// everything else.
func (m *Manager) RedirectHandler() http.Handler {
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || strings.ContainsAny(host, "/\\@") {
			http.Error(w, "bad host", http.StatusBadRequest)
			return
		}
		if m.httpsPrt != "" {
			host = net.JoinHostPort(host, m.httpsPrt)
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
	if m.acme == nil {
		return redirect
	}
	return m.acme.HTTPChallengeHandler(redirect)
}

// Renew renews name's certificate now, even if it is far from expiring,
// and serves the new one from the next handshake on.
func (m *Manager) Renew(ctx context.Context, name string) error {
	if err := m.magic.RenewCertSync(ctx, name, true); err != nil {
		return fmt.Errorf("edgetls: renew %s: %w", name, err)
	}
	m.cache.RemoveManaged([]certmagic.SubjectIssuer{{Subject: name}})
	return nil
}

// Stop ends certificate maintenance.
func (m *Manager) Stop() { m.cache.Stop() }

// Name names the Manager among the server's controllers.
func (m *Manager) Name() string { return "tls certificates" }

// Run keeps certificate maintenance (renewals) going until ctx ends, then
// stops it; the server runs it as a controller.
func (m *Manager) Run(ctx context.Context) error {
	<-ctx.Done()
	m.Stop()
	return nil
}
