// Package wire assembles a complete rise server from its parts: the plugin
// host (registry and runtime plugins), the metrics registry, authentication and the audit log it
// records logins in, the deployments
// service and its controller, registry credentials and token routes, and the
// edge router that serves apps. cmd/rise hands its functions to
// server.NewCommand.
package wire

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/edge"
	"github.com/riseplatform/rise/server/images"
	"github.com/riseplatform/rise/server/metrics"
	"github.com/riseplatform/rise/server/registry"
	"github.com/riseplatform/rise/server/store"
	"github.com/riseplatform/rise/server/ui"
)

// DefaultRuntime is used when server.hcl has no runtime block.
const DefaultRuntime = "docker"

// Options are what the binary knows about itself.
type Options struct {
	Builtins []sdk.Component
	Version  string
}

// StartPlugins starts the plugin host for cfg and decodes and validates the
// registry and runtime blocks against their plugins' schemas. All problems
// come back together, each with its file:line. obs (may be nil) receives
// plugin call metrics.
func StartPlugins(ctx context.Context, o Options, cfg *config.Server, log hclog.Logger, obs pluginhost.Observer) (*Plugins, error) {
	host, err := pluginhost.New(ctx, pluginhost.Options{
		Observer:   obs,
		Logger:     log,
		Version:    o.Version,
		Builtins:   o.Builtins,
		Plugins:    cfg.Plugins,
		PluginDirs: pluginhost.PluginDirs(cfg.PluginDir),
	})
	if err != nil {
		return nil, err
	}
	p := &Plugins{Host: host}
	var diags hcl.Diagnostics
	if cfg.Registry != nil {
		p.registryName = cfg.Registry.Name
		p.registryCfg, diags = decode(ctx, host, sdk.KindRegistry, cfg.Registry, diags)
	}
	p.runtimeName = DefaultRuntime
	if cfg.Runtime != nil {
		p.runtimeName = cfg.Runtime.Name
		p.runtimeCfg, diags = decode(ctx, host, sdk.KindRuntime, cfg.Runtime, diags)
	} else if p.runtimeCfg, err = emptyConfig(ctx, host, p.runtimeName); err != nil {
		host.Close()
		return nil, err
	}
	if diags.HasErrors() {
		host.Close()
		return nil, errors.New(config.FormatDiagnostics(diags, nil))
	}
	return p, nil
}

func decode(ctx context.Context, host *pluginhost.Host, kind sdk.Kind, c *config.Component, diags hcl.Diagnostics) ([]byte, hcl.Diagnostics) {
	raw, d := host.DecodeConfigWithContext(kind, c.Name, c.Body, config.EvalContext())
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags
	}
	return raw, append(diags, host.ValidateConfig(ctx, kind, c.Name, raw, c.Body, c.DefRange)...)
}

func emptyConfig(ctx context.Context, host *pluginhost.Host, name string) ([]byte, error) {
	raw := []byte("{}")
	if d := host.ValidateConfig(ctx, sdk.KindRuntime, name, raw, nil, hcl.Range{Filename: "(default runtime)"}); d.HasErrors() {
		return nil, fmt.Errorf("default runtime %q: %s", name, d.Error())
	}
	return raw, nil
}

// Plugins is the plugin host with the server's registry and runtime configured.
type Plugins struct {
	Host                      *pluginhost.Host
	registryName, runtimeName string
	registryCfg, runtimeCfg   []byte
}

// Registry returns the configured registry, or nil when none is configured.
func (p *Plugins) Registry(ctx context.Context) (sdk.RegistryClient, error) {
	if p.registryName == "" {
		return nil, nil
	}
	return p.Host.Registry(ctx, p.registryName, p.registryCfg)
}

// Runtime returns the configured runtime.
func (p *Plugins) Runtime(ctx context.Context) (sdk.Runtime, error) {
	return p.Host.Runtime(ctx, p.runtimeName, p.runtimeCfg)
}

// Check validates everything `rise server check` can without starting the
// server: the plugins start, fingerprint, and accept their config blocks.
func Check(o Options) func(ctx context.Context, cfg *config.Server, log hclog.Logger) error {
	return func(ctx context.Context, cfg *config.Server, log hclog.Logger) error {
		p, err := StartPlugins(ctx, o, cfg, log, nil)
		if err != nil {
			return err
		}
		p.Host.Close()
		return nil
	}
}

// Server returns the function server.NewCommand calls to build the server's
// parts once the store is open.
func Server(o Options) func(ctx context.Context, cfg *config.Server, st *store.Store, log hclog.Logger) (server.Deps, func(), error) {
	return func(ctx context.Context, cfg *config.Server, st *store.Store, log hclog.Logger) (server.Deps, func(), error) {
		m := metrics.New()
		p, err := StartPlugins(ctx, o, cfg, log, m)
		if err != nil {
			return server.Deps{}, nil, err
		}
		deps, err := assemble(ctx, cfg, st, log, p, m)
		if err != nil {
			p.Host.Close()
			return server.Deps{}, nil, err
		}
		return deps, p.Host.Close, nil
	}
}

func assemble(ctx context.Context, cfg *config.Server, st *store.Store, log hclog.Logger, p *Plugins, m *metrics.Metrics) (server.Deps, error) {
	authCfg := cfg.Auth
	if authCfg == nil {
		authCfg = &config.Auth{}
	}
	// One audit log for the API middleware and auth's events; it takes
	// client addresses by auth's rule.
	var authSvc *auth.Service
	var routes *edge.Table // set below; auth asks it about custom domains
	auditLog := audit.New(st, audit.Options{
		Log:       log,
		Retention: cfg.AuditRetention(),
		ClientIP:  func(r *http.Request) string { return authSvc.ClientIP(r) },
	})
	authSvc, err := auth.New(ctx, authCfg, st, auth.Options{
		PublicURL:      cfg.PublicURL,
		DataDir:        cfg.DataDir,
		Listen:         cfg.Listen,
		AppsDomain:     cfg.Domain,
		CustomDomains:  func(host string) bool { return routes != nil && routes.IsDomain(host) },
		AppScheme:      cfg.AppScheme,
		TrustedProxies: cfg.TrustedProxies,
		Log:            log.Named("auth"),
		Audit:          auditLog,
	})
	if err != nil {
		return server.Deps{}, fmt.Errorf("authentication: %w", err)
	}

	reg, err := p.Registry(ctx)
	if err != nil {
		return server.Deps{}, fmt.Errorf("registry plugin: %w", err)
	}
	vars, err := Variables(ctx, cfg, st, log, auditLog)
	if err != nil {
		return server.Deps{}, err
	}
	domainSvc, err := newDomains(cfg, st, log)
	if err != nil {
		return server.Deps{}, err
	}
	deploySvc, err := deploy.New(deploy.Options{
		Domains:         domainSvc.Verified,
		Store:           st,
		Runtime:         p.Runtime,
		Log:             log,
		Metrics:         m,
		AppURL:          cfg.AppURL,
		Images:          imagePolicy(reg, cfg, log.Named("images")),
		PullCredentials: pullCredentials(reg),
		CleanupProject:  cleanup(reg),
		Variables:       vars,
		BrowserIdentity: authSvc.IdentityFromRequest, // the event stream, for the dashboard
	})
	if err != nil {
		return server.Deps{}, fmt.Errorf("deployments: %w", err)
	}
	edgeCfg := cfg.Edge
	if edgeCfg == nil {
		edgeCfg = &config.Edge{}
	}
	routes, err = edge.NewTable(ctx, edge.TableOptions{Pool: st.Pool(), Resync: edgeCfg.ResyncPeriod(), Metrics: m, Access: cfg.Access, Log: log.Named("edge")})
	if err != nil {
		return server.Deps{}, err
	}
	edgeRouter, err := edge.New(edge.Options{
		Metrics:        m,
		Domain:         cfg.Domain,
		PublicURL:      cfg.PublicURL,
		Lookup:         routes.Lookup,
		Domains:        routes.DomainProject,
		Identity:       authSvc.IdentityFromRequest,
		IdentityCookie: auth.SessionCookie,
		CanAccess:      routes.CanAccess,
		Sessions:       authSvc,
		AccessLog:      edgeCfg.AccessLog,
		AccessLogEvery: edgeCfg.AccessLogEvery,
		Log:            log.Named("edge"),
	})
	if err != nil {
		return server.Deps{}, fmt.Errorf("edge router: %w", err)
	}

	tlsMgr, err := newTLS(ctx, cfg, st, edgeRouter, log)
	if err != nil {
		return server.Deps{}, err
	}

	mounts := []server.Mount{deploySvc, vars, edgeRouter, domainSvc} // edgeRouter: the ingress auth endpoint
	if reg != nil {
		rd := registry.Deps{Registry: reg, Deployments: deploySvc, Logger: log.Named("registry")}
		if hasCapability(p.Host, sdk.KindRegistry, p.registryName, sdk.CapToken) {
			rd.Tokens = reg
		}
		mounts = append(mounts, server.MountFunc(func(api *mux.Router) { registry.Routes(api, rd) }))
	}
	dashboard, err := ui.New(ui.Options{
		PublicURL:     authSvc.Issuer(),
		Identity:      authSvc.IdentityFromRequest,
		SessionCookie: auth.SessionCookie,
		Sections:      ui.FeatureSections(),
		Log:           log,
	})
	if err != nil {
		return server.Deps{}, fmt.Errorf("dashboard: %w", err)
	}
	return tlsDeps(server.Deps{
		Auth:        authSvc,
		Mounts:      mounts,
		RootMounts:  []server.Mount{server.MountFunc(authSvc.RootRoutes), dashboard},
		Controllers: []server.Controller{deploySvc, routes},
		Edge:        edgeRouter,
		Audit:       auditLog,
		Metrics:     m,
	}, tlsMgr), nil
}

func hasCapability(h *pluginhost.Host, kind sdk.Kind, name, capability string) bool {
	info, ok := h.Lookup(kind, name)
	return ok && slices.Contains(info.Capabilities, capability)
}

// imagePolicy checks every image reference against the platform registry
// (own repository only) and resolves external ones through the SSRF guard.
func imagePolicy(reg sdk.RegistryClient, cfg *config.Server, log hclog.Logger) *images.Policy {
	o := images.Options{AllowPrivate: cfg.Images.PrivateRegistryNetworks(), Log: log}
	if reg != nil {
		o.Registry = reg
	}
	return images.New(o)
}

func pullCredentials(reg sdk.RegistryClient) func(ctx context.Context, project string) (*sdk.Credentials, error) {
	if reg == nil {
		return nil
	}
	return func(ctx context.Context, project string) (*sdk.Credentials, error) {
		return reg.Credentials(ctx, &sdk.CredentialsRequest{Project: project, Subject: "runtime"})
	}
}

func cleanup(reg sdk.RegistryClient) func(ctx context.Context, project string) error {
	if reg == nil {
		return nil
	}
	return func(ctx context.Context, project string) error {
		if err := reg.DeleteRepository(ctx, project); err != nil && !errors.Is(err, sdk.ErrUnsupported) {
			return err
		}
		return nil
	}
}
