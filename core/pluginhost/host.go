// Package pluginhost discovers, fingerprints, launches and talks to rise
// plugins: built-in components (run out of process by re-executing the rise
// binary as `rise plugin serve <kind>/<name>`) and external plugin binaries
// (`plugin "x" { path sha256 env }` blocks, and rise-plugin-<name>
// executables in plugin directories).
//
// The server and CLI use a Host like this:
//
//	host, err := pluginhost.New(ctx, pluginhost.Options{Logger: log, Builtins: builtins, Plugins: cfg.Plugins, PluginDirs: dirs})
//	defer host.Close()
//	cfgJSON, diags := host.DecodeConfig(sdk.KindRuntime, cfg.Runtime.Name, cfg.Runtime.Body) // schema check with file:line
//	diags = append(diags, host.ValidateConfig(ctx, sdk.KindRuntime, cfg.Runtime.Name, cfgJSON, cfg.Runtime.Body, cfg.Runtime.DefRange)...)
//	rt, err := host.Runtime(ctx, cfg.Runtime.Name, cfgJSON)
//	dep, err := rt.Deploy(ctx, req, ui)
//
// Plugin processes are started lazily, kept warm while in use and for
// IdleTimeout afterwards, and replaced after a crash or hang (reported as
// *Error). Close (or plugin.CleanupClients at exit) stops them; a plugin
// whose host dies exits on its own (the SDK watches its parent).
package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/sdk"
)

// Options configure a Host. Zero values get the documented defaults.
type Options struct {
	Logger hclog.Logger // plugin logs go to Logger.Named("plugin.<name>")
	// Version is reported as the version of built-in plugins.
	Version string
	// Builtins are the components compiled into this binary.
	Builtins []sdk.Component
	// Executable and BuiltinArgs launch a built-in as
	// `<Executable> <BuiltinArgs...> <kind>/<name>`.
	// Defaults: os.Executable() and ["plugin", "serve"].
	Executable  string
	BuiltinArgs []string
	// Env is the environment of built-in plugins. Default: DefaultEnv().
	Env []string
	// Plugins are the `plugin "x" {...}` blocks of the config.
	Plugins []*config.Plugin
	// PluginDirs are searched for rise-plugin-<name> executables, in order.
	// Nil means DefaultPluginDirs(); use an empty slice to search nothing.
	PluginDirs []string
	// Reattach is a RISE_REATTACH_PLUGINS value (plugins started with
	// -debug). Default: the environment variable.
	Reattach *string

	// Observer receives call and restart metrics (nil: none).
	Observer Observer

	CallTimeout      time.Duration // per unary call (Status, Credentials, Detect...); default 30s
	OperationTimeout time.Duration // per streamed operation (Build, Deploy, Stop, Destroy); default 1h
	StartTimeout     time.Duration // launch + handshake; default 30s
	IdleTimeout      time.Duration // idle plugin processes are stopped after this; default 2m
}

// Info describes one available component (a row of `rise plugin list`).
type Info struct {
	Kind         sdk.Kind    `json:"kind"`
	Name         string      `json:"name"`
	Description  string      `json:"description,omitempty"`
	Version      string      `json:"version"`
	Plugin       string      `json:"plugin"` // plugin (binary) name
	Source       string      `json:"source"` // "built-in", or the executable's path
	Capabilities []string    `json:"capabilities"`
	Schema       *sdk.Schema `json:"config_schema,omitempty"`
}

// SourceBuiltin is Info.Source for built-in components.
const SourceBuiltin = "built-in"

// Host runs plugins. It is safe for concurrent use.
type Host struct {
	opts Options
	log  hclog.Logger

	mu       sync.Mutex
	comps    map[sdk.ComponentID]*component
	binaries []*binary
	closed   bool
}

// component is one kind/name served by a binary.
type component struct {
	info sdk.ComponentInfo
	bin  *binary
}

// New discovers and fingerprints every plugin. It fails, naming each
// broken plugin, if any plugin cannot be started, speaks no common protocol
// version, or describes itself inconsistently: nothing that can fail at
// start fails mid-deploy.
func New(ctx context.Context, opts Options) (*Host, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("locate the rise executable for built-in plugins: %w", err)
		}
		opts.Executable = exe
	}
	if opts.BuiltinArgs == nil {
		opts.BuiltinArgs = []string{"plugin", "serve"}
	}
	if opts.Env == nil {
		opts.Env = DefaultEnv()
	}
	if opts.PluginDirs == nil {
		opts.PluginDirs = DefaultPluginDirs()
	}
	if opts.Reattach == nil {
		v := os.Getenv(sdk.ReattachEnv)
		opts.Reattach = &v
	}
	setDefault(&opts.CallTimeout, 30*time.Second)
	setDefault(&opts.OperationTimeout, time.Hour)
	setDefault(&opts.StartTimeout, 30*time.Second)
	setDefault(&opts.IdleTimeout, 2*time.Minute)

	h := &Host{opts: opts, log: opts.Logger, comps: map[sdk.ComponentID]*component{}}
	if err := h.addBuiltins(); err != nil {
		return nil, err
	}
	externals, err := h.discover()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, b := range externals {
		if err := h.fingerprint(ctx, b); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		h.Close()
		return nil, errors.Join(errs...)
	}
	return h, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

func (h *Host) addBuiltins() error {
	for _, c := range h.opts.Builtins {
		ci, err := sdk.DescribeComponent(c)
		if err != nil {
			return fmt.Errorf("built-in plugin: %w", err)
		}
		key := ci.ID()
		if _, dup := h.comps[key]; dup {
			return fmt.Errorf("built-in plugin %s is registered twice", key)
		}
		b := h.newBinary(key.String(), SourceBuiltin)
		b.info = &sdk.PluginInfo{Name: ci.Name, Version: h.opts.Version, SDKVersion: sdk.SDKVersion, Protocols: []int{sdk.ProtocolVersion}, Components: []sdk.ComponentInfo{*ci}}
		b.args = append(append([]string{h.opts.Executable}, h.opts.BuiltinArgs...), key.String())
		b.env = h.opts.Env
		h.binaries = append(h.binaries, b)
		h.comps[key] = &component{info: *ci, bin: b}
	}
	return nil
}

// List returns every available component, sorted by kind and name.
func (h *Host) List() []Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Info, 0, len(h.comps))
	for _, c := range h.comps {
		out = append(out, c.publicInfo())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (c *component) publicInfo() Info {
	return Info{
		Kind: c.info.Kind, Name: c.info.Name, Description: c.info.Description, Version: c.bin.info.Version,
		Plugin: c.bin.name, Source: c.bin.source, Capabilities: append([]string{}, c.info.Capabilities...), Schema: c.info.Schema,
	}
}

// Lookup returns the component kind/name.
func (h *Host) Lookup(kind sdk.Kind, name string) (Info, bool) {
	c, err := h.component(kind, name)
	if err != nil {
		return Info{}, false
	}
	return c.publicInfo(), true
}

func (h *Host) component(kind sdk.Kind, name string) (*component, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("plugin host is closed")
	}
	if c, ok := h.comps[sdk.ComponentID{Kind: kind, Name: name}]; ok {
		return c, nil
	}
	var names []string
	for _, c := range h.comps {
		if c.info.Kind == kind {
			names = append(names, c.info.Name)
		}
	}
	sort.Strings(names)
	msg := fmt.Sprintf("no %s plugin named %q", kind, name)
	if len(names) > 0 {
		msg += "; available: " + strings.Join(names, ", ")
	} else {
		msg += fmt.Sprintf("; no %s plugins are installed", kind)
	}
	return nil, sdk.Permanent(errors.New(msg))
}

// Close stops every plugin process this host started and waits for them.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	bins := append([]*binary(nil), h.binaries...)
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range bins {
		wg.Add(1)
		go func() { defer wg.Done(); b.stop() }()
	}
	wg.Wait()
}

// Cleanup stops every plugin process started by any Host in this process.
// Call it once, deferred, in main (go-plugin's CleanupClients), so plugins
// stop even when a Host was not closed.
func Cleanup() { plugin.CleanupClients() }
