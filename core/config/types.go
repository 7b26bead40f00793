// Package config loads rise's HCL configuration: the server's server.hcl and
// an app's rise.hcl (or the seed's .rise.toml). Every error carries
// file:line:col.
package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Server is server.hcl.
type Server struct {
	Listen    string `hcl:"listen,optional"`     // default 127.0.0.1:3000
	PublicURL string `hcl:"public_url,optional"` // default http://<listen>
	// Domain: apps are served at <scheme>://<project>.<domain>. Default: "localhost".
	Domain    string `hcl:"domain,optional"`
	AppScheme string `hcl:"app_scheme,optional"` // "https" (default) or "http"
	PluginDir string `hcl:"plugin_dir,optional"`
	DataDir   string `hcl:"data_dir,optional"` // where the server keeps generated keys; default ~/.local/share/rise
	// TrustedProxies are reverse proxies (CIDRs or addresses) whose
	// X-Forwarded-For is believed for the client address. Default: none.
	TrustedProxies []string `hcl:"trusted_proxies,optional"`

	Database *Database `hcl:"database,block"`
	Auth     *Auth     `hcl:"auth,block"`
	// Registry and Runtime: the block label names the plugin component
	// (registry "docker" {...}); the body is that plugin's config.
	Registry *Component `hcl:"registry,block"`
	Runtime  *Component `hcl:"runtime,block"`
	Plugins  []*Plugin  `hcl:"plugin,block"`
	Audit    *Audit     `hcl:"audit,block"`
	Images   *Images    `hcl:"images,block"`
	Edge     *Edge      `hcl:"edge,block"`
	Metrics  *Metrics   `hcl:"metrics,block"`
	// Encryption seals project variables at rest (docs/secrets.md).
	Encryption *Encryption `hcl:"encryption,block"`
	TLS        *TLS        `hcl:"tls,block"`     // HTTPS on listen (tls.go)
	Domains    *Domains    `hcl:"domains,block"` // custom domains (tls.go)
	// Access restricts the "authenticated" access class and defines the
	// operator's own classes (see access.go).
	Access *Access `hcl:"access,block"`
	// Teams are the admin controls over teams (see access.go).
	Teams *TeamsPolicy `hcl:"teams,block"`

	// Filename is where the config was read from. (No hcl tag: gohcl reads
	// `hcl:"-"` as an attribute named "-".)
	Filename string
}

// Encryption is the key-encryption key provider for project variables:
// every value is sealed with AES-256-GCM under its own data key, and data
// keys are wrapped by the provider's current key. Old keys stay readable
// until `rise server rotate-keys` has re-wrapped everything under the
// current one.
type Encryption struct {
	// Provider: "local" (a 32-byte key in the config) or "aws-kms".
	Provider string `hcl:"provider"`
	// Key (local): the current key, base64 of 32 bytes, usually
	// env("RISE_ENCRYPTION_KEY"). OldKeys: earlier keys still used to read.
	Key     string   `hcl:"key,optional"`
	OldKeys []string `hcl:"old_keys,optional"`
	// KeyID (aws-kms): the KMS key (id, ARN or alias) data keys are wrapped
	// with; OldKeyIDs: earlier KMS keys still used to read.
	KeyID     string   `hcl:"key_id,optional"`
	OldKeyIDs []string `hcl:"old_key_ids,optional"`
	// Region and Endpoint (aws-kms): default from the AWS environment;
	// Endpoint overrides the KMS endpoint (VPC endpoints, tests).
	Region   string `hcl:"region,optional"`
	Endpoint string `hcl:"endpoint,optional"`
}

// Audit configures the audit log.
type Audit struct {
	// Retention: events older than this are deleted, e.g. "90d", "720h";
	// "0" keeps them forever. Default "90d".
	Retention string `hcl:"retention,optional"`
}

// Images is the policy for images from registries other than the platform
// registry (external images).
type Images struct {
	// AllowPrivateRegistries lists networks (CIDR prefixes such as
	// "10.0.0.0/8") on which external registries may be reached although
	// they are loopback, private or link-local. Empty: only public
	// addresses.
	AllowPrivateRegistries []string `hcl:"allow_private_registries,optional"`
}

// Edge tunes the edge router that serves apps (server/edge).
type Edge struct {
	// AccessLog: "off", "sampled" (default: one request in
	// access_log_every, plus every 5xx) or "all".
	AccessLog      string `hcl:"access_log,optional"`
	AccessLogEvery int    `hcl:"access_log_every,optional"` // default 100
	// Resync is the period of full route table reloads (default "30s");
	// change notifications keep it current in between.
	Resync string `hcl:"resync,optional"`
}

// ResyncPeriod is Resync parsed (LoadServer has validated it).
func (e *Edge) ResyncPeriod() time.Duration {
	d, err := time.ParseDuration(e.Resync)
	if err != nil || d <= 0 {
		return 30 * time.Second
	}
	return d
}

// Metrics configures GET /metrics (Prometheus). Without the block, or
// without listen, /metrics is served on the main listener to admins only.
type Metrics struct {
	// Listen serves /metrics, unauthenticated, on its own address (e.g.
	// "127.0.0.1:9090") instead of the main listener.
	Listen string `hcl:"listen,optional"`
}

// Database is the PostgreSQL connection.
type Database struct {
	URL      string `hcl:"url"`
	MaxConns int    `hcl:"max_conns,optional"`
}

// Auth configures how callers authenticate.
type Auth struct {
	TokenTTL       string           `hcl:"token_ttl,optional"`        // lifetime of rise-issued tokens, default "12h"
	SigningKeyFile string           `hcl:"signing_key_file,optional"` // PEM EC/RSA private key; generated and persisted in data_dir when empty
	Local          *LocalAuth       `hcl:"local,block"`
	OIDC           []*OIDCProvider  `hcl:"oidc,block"`
	TrustedIssuers []*TrustedIssuer `hcl:"trusted_issuer,block"`
}

// LocalAuth is development-only email+password login.
type LocalAuth struct {
	Users []*LocalUser `hcl:"user,block"`
}

// LocalUser is one local user.
type LocalUser struct {
	Email        string `hcl:"email,label"`
	PasswordHash string `hcl:"password_hash"` // bcrypt
	Name         string `hcl:"name,optional"`
	Admin        bool   `hcl:"admin,optional"`
	// Groups stand in for an identity provider's groups (access classes
	// and allow-lists by group), for development.
	Groups []string `hcl:"groups,optional"`
}

// OIDCProvider is an identity provider users log in through (authorization
// code + PKCE, device flow).
type OIDCProvider struct {
	Name         string   `hcl:"name,label"`
	Issuer       string   `hcl:"issuer"`
	ClientID     string   `hcl:"client_id"`
	ClientSecret string   `hcl:"client_secret,optional"`
	Scopes       []string `hcl:"scopes,optional"`
	// AdminEmails are made admins on login (verified emails only).
	AdminEmails []string `hcl:"admin_emails,optional"`
	// TrustEmail treats an ID token without email_verified as verified
	// (for providers that only issue verified emails but omit the claim).
	TrustEmail bool `hcl:"trust_email,optional"`
	// GroupsClaim is the ID token claim holding the user's groups (a list
	// of strings). Default "groups" when sync_groups or allowed_groups is
	// set; empty otherwise (groups are not read).
	GroupsClaim string `hcl:"groups_claim,optional"`
	// SyncGroups makes the user's team memberships follow the groups
	// claim at every login (teams created on first sight, marked as
	// managed by this provider).
	SyncGroups bool `hcl:"sync_groups,optional"`
	// GroupPrefix limits syncing to groups starting with it; the prefix is
	// dropped from the team name ("rise-web" → team "web").
	GroupPrefix string `hcl:"group_prefix,optional"`
	// AllowedGroups limits logging in through this provider to users in at
	// least one of these groups ("platform access denied" otherwise).
	AllowedGroups []string `hcl:"allowed_groups,optional"`
}

// TrustedIssuer accepts JWTs minted by another issuer (CI systems).
type TrustedIssuer struct {
	Name     string `hcl:"name,label"`
	Issuer   string `hcl:"issuer"`
	Audience string `hcl:"audience"`
	// AllowPrivateNetwork permits discovery/JWKS on loopback/private
	// addresses (SSRF guard is on by default).
	AllowPrivateNetwork bool `hcl:"allow_private_network,optional"`
}

// Component is a plugin-configured block: registry "docker" {...}.
type Component struct {
	Name string   `hcl:"name,label"`
	Body hcl.Body `hcl:",remain"`
	// DefRange is the block's source range for diagnostics.
	DefRange hcl.Range `hcl:",def_range"`
}

// Plugin declares an external plugin binary.
type Plugin struct {
	Name   string            `hcl:"name,label"`
	Path   string            `hcl:"path,optional"`
	SHA256 string            `hcl:"sha256,optional"`
	Env    map[string]string `hcl:"env,optional"` // the plugin's entire environment
}

// App is an app's rise.hcl (or a rise.toml / .rise.toml, the seed's or the
// reference rise's, mapped onto the same shape).
type App struct {
	Project string `hcl:"project,optional"`
	// Visibility ("public" or "private") and Owner ("user:<name>" or
	// "team:<name>") are what `rise project create` uses when its flags
	// are not given (TOML: [project] access_class and owner).
	Visibility string     `hcl:"visibility,optional"`
	Owner      string     `hcl:"owner,optional"`
	Build      *AppBuild  `hcl:"build,block"`
	Deploy     *AppDeploy `hcl:"deploy,block"`
	Path       string     // file it was read from
	// Environments are the reference rise's [environments.<name>]
	// sections, parsed and validated; rise has no environments yet, so
	// they are not applied (LoadApp warns).
	Environments map[string]*AppEnvironment
	// Warnings are LoadApp's non-fatal diagnostics (ignored sections,
	// which of several app files wins); callers show them.
	Warnings hcl.Diagnostics `json:"-"`

	projectTable bool   // the TOML file has a [project] table
	accessKey    string // the TOML key Visibility came from
}

// AppEnvironment is one [environments.<name>] section of a reference rise
// rise.toml.
type AppEnvironment struct {
	Env map[string]string
}

// AppBuild selects a builder: build "pack" { builder = "..." }. An empty or
// missing block means auto-detect.
type AppBuild struct {
	Builder string   `hcl:"builder,label"`
	Body    hcl.Body `hcl:",remain"`
	// DefRange is the block's source range (for .rise.toml, the [build]
	// table's).
	DefRange hcl.Range `hcl:",def_range"`
	// Backend is the builder as the seed's .rise.toml names it ("buildpacks",
	// "railpack:buildctl"); empty for rise.hcl. Builder holds the plugin
	// name it maps to, and Body the rest of [build] as attributes.
	Backend string
	// Options every builder takes, from a TOML [build] (the reference
	// rise's env, build_args, platform, no_cache, managed_buildkit);
	// command-line flags override them. BuildArgs entries are KEY=VALUE, or
	// KEY to take the value from the environment at build time.
	BuildArgs       []string
	Platform        string
	NoCache         bool
	ManagedBuildkit bool
}

// AppDeploy is the workload.
type AppDeploy struct {
	Group      string            `hcl:"group,optional"`
	Port       int               `hcl:"port,optional"`
	Replicas   int               `hcl:"replicas,optional"`
	Env        map[string]string `hcl:"env,optional"`
	HealthPath string            `hcl:"health_path,optional"`
	CPU        string            `hcl:"cpu,optional"`
	Memory     string            `hcl:"memory,optional"`
	Command    []string          `hcl:"command,optional"`
}
