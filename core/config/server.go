package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of server.hcl.
const (
	DefaultListen   = "127.0.0.1:3000"
	DefaultDomain   = "localhost"
	DefaultTokenTTL = "12h"
)

// DefaultAuditRetention is how long audit events are kept by default.
const DefaultAuditRetention = 90 * 24 * time.Hour

// ParseRetention reads an audit retention: a number of days ("90d"), a Go
// duration of at least an hour ("720h"), or "0" for forever (returned as
// -1). Empty is the default.
func ParseRetention(v string) (time.Duration, error) {
	switch v = strings.TrimSpace(v); v {
	case "":
		return DefaultAuditRetention, nil
	case "0", "0d", "forever":
		return -1, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 36500 {
			return 0, fmt.Errorf("retention %q must be a number of days like \"90d\", a duration like \"720h\", or \"0\" to keep events forever", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < time.Hour {
			return 0, fmt.Errorf("retention %q must be a number of days like \"90d\", a duration of at least 1h like \"720h\", or \"0\" to keep events forever", v)
		}
	}
	return d, nil
}

// AuditRetention is audit.retention parsed (LoadServer has validated it).
func (s *Server) AuditRetention() time.Duration {
	var v string
	if s != nil && s.Audit != nil {
		v = s.Audit.Retention
	}
	d, err := ParseRetention(v)
	if err != nil {
		return DefaultAuditRetention
	}
	return d
}

// DefaultGroupsClaim is the ID token claim read for groups when an oidc
// block syncs or checks groups without naming the claim.
const DefaultGroupsClaim = "groups"

// DefaultOIDCScopes are requested when an oidc block sets no scopes (plus
// "groups" when the block reads groups).
var DefaultOIDCScopes = []string{"openid", "email", "profile"}

// TokenLifetime is TokenTTL parsed (LoadServer has validated it); the
// default when empty.
func (a *Auth) TokenLifetime() time.Duration {
	ttl := DefaultTokenTTL
	if a != nil && a.TokenTTL != "" {
		ttl = a.TokenTTL
	}
	d, err := time.ParseDuration(ttl)
	if err != nil {
		return 12 * time.Hour
	}
	return d
}

// finish fills defaults, resolves paths and validates s, whose source body
// is body.
func (s *Server) finish(body hcl.Body) hcl.Diagnostics {
	c := &checker{}
	root := newNode(body)

	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if msg := checkListen(s.Listen); msg != "" {
		c.errorf(root.attr("listen"), "Invalid listen address", "%s.", msg)
	}
	if s.PublicURL == "" {
		s.PublicURL = defaultPublicURL(s.Listen)
	} else if msg := checkURL(s.PublicURL, "http", "https"); msg != "" {
		c.errorf(root.attr("public_url"), "Invalid public_url", "%s; it is the URL the CLI and browsers reach this server at, e.g. \"https://rise.example.com\".", msg)
	}
	s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	if s.Domain == "" {
		s.Domain = DefaultDomain
	}
	if msg := checkDomain(s.Domain); msg != "" {
		c.errorf(root.attr("domain"), "Invalid domain", "%s; apps are served at <project>.<domain>.", msg)
	}
	switch s.AppScheme {
	case "":
		s.AppScheme = "https"
	case "http", "https":
	default:
		c.errorf(root.attr("app_scheme"), "Invalid app_scheme", "app_scheme must be \"https\" or \"http\", not %q.", s.AppScheme)
	}
	for _, p := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				c.errorf(root.attr("trusted_proxies"), "Invalid trusted_proxies", "%q is neither an IP address nor a CIDR (e.g. \"10.0.0.0/8\").", p)
			}
		}
	}
	s.PluginDir = resolvePath(s.PluginDir, s.Filename)
	if s.DataDir == "" {
		s.DataDir = defaultDataDir()
	}
	s.DataDir = resolvePath(s.DataDir, s.Filename)

	s.checkDatabase(c, root)
	if s.Auth == nil {
		s.Auth = &Auth{}
	}
	s.Auth.check(c, root.block("auth", 0), s.Filename)
	for i, comp := range []*Component{s.Registry, s.Runtime} {
		kind := [...]string{"registry", "runtime"}[i]
		if comp != nil && !pluginNameRE.MatchString(comp.Name) {
			c.errorf(root.block(kind, 0).rng, "Invalid "+kind+" plugin name",
				"%q is not a plugin component name; names are lowercase letters, digits, '-' and '_', e.g. %s \"docker\" { ... }.", comp.Name, kind)
		}
	}
	s.checkPlugins(c, root)
	if s.Audit != nil {
		if _, err := ParseRetention(s.Audit.Retention); err != nil {
			c.errorf(root.block("audit", 0).attr("retention"), "Invalid retention", "%s.", err)
		}
	}
	s.Images.check(c, root.block("images", 0))
	s.Encryption.check(c, root.block("encryption", 0))
	s.checkTLS(c, root)
	s.checkDomains(c, root)
	if s.Edge == nil {
		s.Edge = &Edge{}
	}
	s.Edge.check(c, root.block("edge", 0))
	s.Access.check(c, root.block("access", 0))
	s.Teams.check(c, root.block("teams", 0))
	if m := s.Metrics; m != nil && m.Listen != "" {
		n := root.block("metrics", 0).attr("listen")
		if msg := checkListen(m.Listen); msg != "" {
			c.errorf(n, "Invalid metrics listen address", "%s.", msg)
		} else if m.Listen == s.Listen {
			c.errorf(n, "Invalid metrics listen address", "metrics listen %q is the server's own listen address; use another port, or drop it to serve /metrics on the main listener to admins.", m.Listen)
		}
	}
	return c.diags
}

// PrivateRegistryNetworks is allow_private_registries parsed (LoadServer
// has validated it).
func (im *Images) PrivateRegistryNetworks() []netip.Prefix {
	if im == nil {
		return nil
	}
	var out []netip.Prefix
	for _, s := range im.AllowPrivateRegistries {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

func (im *Images) check(c *checker, n node) {
	if im == nil {
		return
	}
	for _, s := range im.AllowPrivateRegistries {
		if _, err := netip.ParsePrefix(s); err != nil {
			c.errorf(n.attr("allow_private_registries"), "Invalid allow_private_registries",
				"%q is not a network in CIDR notation; expected e.g. \"10.0.0.0/8\" or \"127.0.0.1/32\".", s)
		}
	}
}

func (s *Server) checkDatabase(c *checker, root node) {
	if s.Database == nil {
		c.errorf(root.rng, "Missing database block",
			"The server needs PostgreSQL: add database { url = env(\"DATABASE_URL\") }.")
		return
	}
	n := root.block("database", 0)
	u := s.Database.URL
	switch {
	case u == "":
		c.errorf(n.attr("url"), "Invalid database url", "The database url is empty; expected e.g. \"postgres://rise@127.0.0.1:5432/rise\".")
	case strings.Contains(u, "://"):
		// Never echo the URL: it usually holds a password.
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "postgres" && pu.Scheme != "postgresql") {
			c.errorf(n.attr("url"), "Invalid database url", "Expected a postgres:// URL like \"postgres://rise@127.0.0.1:5432/rise?sslmode=disable\".")
		}
	case !strings.Contains(u, "="):
		c.errorf(n.attr("url"), "Invalid database url", "Expected a postgres:// URL or a key=value connection string like \"host=127.0.0.1 dbname=rise\".")
	}
	if s.Database.MaxConns < 0 {
		c.errorf(n.attr("max_conns"), "Invalid max_conns", "max_conns must be 0 (the driver's default) or more, not %d.", s.Database.MaxConns)
	}
}

func (a *Auth) check(c *checker, n node, file string) {
	if a.TokenTTL == "" {
		a.TokenTTL = DefaultTokenTTL
	}
	if d, err := time.ParseDuration(a.TokenTTL); err != nil || d <= 0 {
		c.errorf(n.attr("token_ttl"), "Invalid token_ttl", "%q is not a positive duration; expected e.g. \"12h\" or \"30m\".", a.TokenTTL)
	}
	a.SigningKeyFile = resolvePath(a.SigningKeyFile, file)
	logins := len(a.OIDC)
	if a.Local != nil {
		ln := n.block("local", 0)
		seen := map[string]bool{}
		for i, u := range a.Local.Users {
			un := ln.block("user", i)
			if msg := checkEmail(u.Email); msg != "" {
				c.errorf(un.rng, "Invalid local user", "%s.", msg)
			}
			if key := strings.ToLower(u.Email); seen[key] {
				c.errorf(un.rng, "Duplicate local user", "User %q is declared twice.", u.Email)
			} else {
				seen[key] = true
			}
			if !bcryptRE.MatchString(u.PasswordHash) {
				c.errorf(un.attr("password_hash"), "Invalid password_hash",
					"The password_hash of %q must be a bcrypt hash (\"$2a$10$...\", 60 characters); make one with `htpasswd -nbBC 10 '' PASSWORD | cut -d: -f2`.", u.Email)
			}
		}
		logins += len(a.Local.Users)
	}
	seen := map[string]bool{}
	for i, p := range a.OIDC {
		pn := n.block("oidc", i)
		if !pluginNameRE.MatchString(p.Name) {
			c.errorf(pn.rng, "Invalid oidc provider name", "%q: names are lowercase letters, digits, '-' and '_', e.g. oidc \"dex\" { ... }.", p.Name)
		}
		if seen[p.Name] {
			c.errorf(pn.rng, "Duplicate oidc block", "An oidc provider named %q is already declared.", p.Name)
		}
		seen[p.Name] = true
		if msg := checkURL(p.Issuer, "https", "http"); msg != "" {
			c.errorf(pn.attr("issuer"), "Invalid issuer", "%s; expected the issuer URL of the provider, e.g. \"https://accounts.google.com\".", msg)
		}
		if strings.TrimSpace(p.ClientID) == "" {
			c.errorf(pn.attr("client_id"), "Invalid client_id", "client_id must not be empty.")
		}
		p.Scopes = p.RequestScopes()
		p.GroupsClaim = p.GroupsClaimName()
		if p.GroupPrefix != "" && !p.SyncGroups {
			c.errorf(pn.attr("group_prefix"), "Invalid group_prefix", "group_prefix filters the groups synced to teams; it needs sync_groups = true.")
		}
		for _, e := range p.AdminEmails {
			if msg := checkEmail(e); msg != "" {
				c.errorf(pn.attr("admin_emails"), "Invalid admin_emails", "%s.", msg)
			}
		}
	}
	seen = map[string]bool{}
	for i, t := range a.TrustedIssuers {
		tn := n.block("trusted_issuer", i)
		if !pluginNameRE.MatchString(t.Name) {
			c.errorf(tn.rng, "Invalid trusted_issuer name", "%q: names are lowercase letters, digits, '-' and '_', e.g. trusted_issuer \"gitlab\" { ... }.", t.Name)
		}
		if seen[t.Name] {
			c.errorf(tn.rng, "Duplicate trusted_issuer block", "A trusted issuer named %q is already declared.", t.Name)
		}
		seen[t.Name] = true
		if msg := checkURL(t.Issuer, "https", "http"); msg != "" {
			c.errorf(tn.attr("issuer"), "Invalid issuer", "%s; expected the issuer (iss claim) of the tokens, e.g. \"https://gitlab.example.com\".", msg)
		}
		if strings.TrimSpace(t.Audience) == "" {
			c.errorf(tn.attr("audience"), "Invalid audience", "audience must not be empty: tokens must be minted for this server (aud claim), e.g. \"rise\".")
		}
	}
	if logins == 0 {
		c.warnf(n.rng, "Nobody can log in", "No local user and no oidc provider is configured; only tokens from trusted issuers will be accepted.")
	}
}

func (s *Server) checkPlugins(c *checker, root node) {
	seen := map[string]bool{}
	for i, p := range s.Plugins {
		pn := root.block("plugin", i)
		if !pluginNameRE.MatchString(p.Name) {
			c.errorf(pn.rng, "Invalid plugin name", "%q: plugin names are lowercase letters, digits, '-' and '_'; the binary is rise-plugin-<name>.", p.Name)
		}
		if seen[p.Name] {
			c.errorf(pn.rng, "Duplicate plugin block", "Plugin %q is already declared.", p.Name)
		}
		seen[p.Name] = true
		p.Path = resolvePath(p.Path, s.Filename)
		if p.SHA256 != "" {
			if !sha256RE.MatchString(p.SHA256) {
				c.errorf(pn.attr("sha256"), "Invalid sha256", "Expected the 64 hex digits of the plugin binary's SHA-256 (`sha256sum rise-plugin-%s`), got %q.", p.Name, p.SHA256)
			}
			p.SHA256 = strings.ToLower(strings.TrimPrefix(p.SHA256, "sha256:"))
		}
		for k := range p.Env {
			if !envNameRE.MatchString(k) {
				c.errorf(pn.attr("env"), "Invalid env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit).", k)
			}
		}
	}
}

func defaultPublicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://localhost:3000"
	}
	switch host {
	case "", "0.0.0.0", "::", "127.0.0.1", "::1":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "rise")
	}
	return "~/.local/share/rise"
}

// AppURL is where project's app is served: <app_scheme>://<project>.<domain>.
func (s *Server) AppURL(project string) string {
	return s.AppScheme + "://" + project + "." + s.Domain
}

func (e *Edge) check(c *checker, n node) {
	switch e.AccessLog {
	case "":
		e.AccessLog = "sampled"
	case "off", "sampled", "all":
	default:
		c.errorf(n.attr("access_log"), "Invalid access_log", "access_log must be \"off\", \"sampled\" or \"all\", not %q.", e.AccessLog)
	}
	if e.AccessLogEvery < 0 {
		c.errorf(n.attr("access_log_every"), "Invalid access_log_every", "access_log_every must be 1 or more (log one request in that many), not %d.", e.AccessLogEvery)
	}
	if e.AccessLogEvery == 0 {
		e.AccessLogEvery = 100
	}
	if e.Resync == "" {
		e.Resync = "30s"
	}
	if d, err := time.ParseDuration(e.Resync); err != nil || d < time.Second {
		c.errorf(n.attr("resync"), "Invalid resync", "%q is not a duration of at least 1s; expected e.g. \"30s\".", e.Resync)
	}
}

// EncryptionKeyLen is the size of a local key-encryption key (AES-256).
const EncryptionKeyLen = 32

func (e *Encryption) check(c *checker, n node) {
	if e == nil {
		return
	}
	localKey := func(attr, k string) {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
		switch {
		case k == "":
			c.errorf(n.attr(attr), "Missing encryption key", "provider \"local\" needs key = env(\"RISE_ENCRYPTION_KEY\"): base64 of %d random bytes (openssl rand -base64 32).", EncryptionKeyLen)
		case err != nil || len(b) != EncryptionKeyLen:
			// Never echo the key.
			c.errorf(n.attr(attr), "Invalid encryption key", "The key must be base64 of exactly %d bytes (openssl rand -base64 32).", EncryptionKeyLen)
		}
	}
	switch e.Provider {
	case "local":
		localKey("key", e.Key)
		for _, k := range e.OldKeys {
			localKey("old_keys", k)
		}
		if e.KeyID != "" || len(e.OldKeyIDs) > 0 || e.Region != "" || e.Endpoint != "" {
			c.errorf(n.rng, "Invalid encryption block", "key_id, old_key_ids, region and endpoint belong to provider \"aws-kms\", not \"local\".")
		}
	case "aws-kms":
		if e.KeyID == "" {
			c.errorf(n.attr("key_id"), "Missing key_id", "provider \"aws-kms\" needs key_id: the KMS key's id, ARN or alias (alias/rise).")
		}
		if e.Key != "" || len(e.OldKeys) > 0 {
			c.errorf(n.rng, "Invalid encryption block", "key and old_keys belong to provider \"local\"; aws-kms keys stay in KMS (key_id, old_key_ids).")
		}
		if e.Endpoint != "" {
			if u, err := url.Parse(e.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				c.errorf(n.attr("endpoint"), "Invalid endpoint", "%q is not an http(s) URL.", e.Endpoint)
			}
		}
	default:
		c.errorf(n.attr("provider"), "Invalid encryption provider", "provider must be \"local\" or \"aws-kms\", not %q.", e.Provider)
	}
}
