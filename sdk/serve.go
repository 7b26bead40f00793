package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Handshake is rise's go-plugin handshake. The cookie is a UX guard (running
// a plugin binary by hand prints a helpful message), not a security measure;
// it never changes. ProtocolVersion is negotiated through VersionedPlugins.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "RISE_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "8f1d0b3c6a2e4f97b5d2c1e0a9f8e7d6c5b4a3f2e1d0c9b8",
}

// DispenseName is the name under which the single rise plugin is dispensed.
const DispenseName = "rise"

// ReattachEnv names the variable that tells a host to connect to plugins
// already running under `-debug` instead of launching them.
const ReattachEnv = "RISE_REATTACH_PLUGINS"

// GRPCPlugin is the go-plugin glue. On the plugin side it serves p; on the
// host side (p == nil) its GRPCClient returns a *Client.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl *Plugin

	mu   sync.Mutex
	inst []*instances // one per gRPC server registered
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the rise services for Impl.
func (g *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if g.Impl == nil {
		return fmt.Errorf("GRPCPlugin: no plugin to serve")
	}
	in, err := registerServers(s, g.Impl)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.inst = append(g.inst, in)
	g.mu.Unlock()
	return nil
}

// Close runs the Cleanup hook of every provisioned component instance (for
// instances still serving a call, after that call). Main calls it when the
// plugin process shuts down.
func (g *GRPCPlugin) Close() {
	g.mu.Lock()
	inst := g.inst
	g.inst = nil
	g.mu.Unlock()
	for _, in := range inst {
		in.close()
	}
}

// GRPCClient returns a *Client on the connection.
func (g *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return NewClient(cc), nil
}

// VersionedPlugins returns the go-plugin sets for every protocol version
// this SDK speaks. Pass nil on the host side.
func VersionedPlugins(p *Plugin) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {DispenseName: &GRPCPlugin{Impl: p}}}
}

// Serve runs a plugin binary's main: it never returns. Arguments:
//
//	describe   print the plugin's info (components, schemas) as JSON and exit
//	-debug     serve without a host and print RISE_REATTACH_PLUGINS for one
//
// Without arguments it serves the host that launched it. Plugins must never
// write to stdout (it carries the handshake): log with hclog (its default
// logger writes JSON to stderr, which the host re-logs under the plugin's
// name) and report progress through the UI.
func Serve(p Plugin) {
	os.Exit(Main(p, os.Args[1:]))
}

// Main is Serve with explicit arguments, returning the exit code. rise's own
// binary uses it for `rise plugin serve <kind>/<name>`.
func Main(p Plugin, args []string) int {
	info, err := Describe(p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "invalid plugin: %v\n", err)
		return 1
	}
	debug := false
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "describe":
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(info); err != nil {
				fmt.Fprintf(os.Stderr, "describe: %v\n", err)
				return 1
			}
			return 0
		case "debug":
			debug = true
		default:
			fmt.Fprintf(os.Stderr, "unknown argument %q (want describe or -debug)\n", a)
			return 2
		}
	}
	logger := pluginLogger(p.Name)
	gp := &GRPCPlugin{Impl: &p}
	cfg := &plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: {DispenseName: gp}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			// A call that outlives its cancellation is logged, so the host's
			// log (and sdktest.LaunchBinary) shows which plugin ignores ctx.
			return grpc.NewServer(append(opts, WatchCancellation(CancelGrace, func(c LateCall) {
				logger.Warn(LateCallMessage, "method", c.Method, "after", c.After.String(), "returned", c.Returned)
			})...)...)
		},
		Logger: logger,
	}
	// Serve returns when the host stops the plugin: clean up what the
	// component instances hold.
	defer gp.Close()
	if debug {
		return serveDebug(p.Name, cfg, os.Stdout)
	}
	if os.Getenv(Handshake.MagicCookieKey) == Handshake.MagicCookieValue {
		go watchParent(logger, os.Getppid())
	}
	plugin.Serve(cfg)
	return 0
}

// pluginLogger makes the plugin's logger: JSON lines on stderr, which the
// host's go-plugin client parses and re-logs at their level.
func pluginLogger(name string) hclog.Logger {
	level := hclog.LevelFromString(os.Getenv("RISE_LOG_LEVEL"))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: os.Stderr, JSONFormat: true})
	hclog.SetDefault(logger)
	log.SetFlags(0)
	log.SetOutput(logger.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	return logger
}

// watchParent exits when the host that launched us is gone (reparented), so
// a SIGKILLed host leaves no orphans. The host also sets Pdeathsig on Linux.
func watchParent(logger hclog.Logger, ppid int) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != ppid {
			logger.Error("host process exited; shutting down", "host_pid", ppid)
			os.Exit(3)
		}
	}
}

// reattachConfig is the JSON form of a go-plugin ReattachConfig.
type reattachConfig struct {
	Protocol        string `json:"protocol"`
	ProtocolVersion int    `json:"protocol_version"`
	Pid             int    `json:"pid"`
	Test            bool   `json:"test"`
	Addr            struct {
		Network string `json:"network"`
		String  string `json:"string"`
	} `json:"addr"`
}

func serveDebug(name string, cfg *plugin.ServeConfig, out io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reattachCh := make(chan *plugin.ReattachConfig, 1)
	closeCh := make(chan struct{})
	cfg.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattachCh, CloseCh: closeCh}
	go plugin.Serve(cfg)
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattachCh:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "plugin did not start within 10s")
		return 1
	}
	var j reattachConfig
	j.Protocol, j.ProtocolVersion, j.Pid, j.Test = string(rc.Protocol), rc.ProtocolVersion, rc.Pid, true
	j.Addr.Network, j.Addr.String = rc.Addr.Network(), rc.Addr.String()
	b, _ := json.Marshal(map[string]reattachConfig{name: j})
	fmt.Fprintf(out, "Plugin %s is serving in debug mode. In the shell running rise, set:\n\n\t%s='%s'\n\nPress Ctrl-C to stop.\n", name, ReattachEnv, b)
	<-closeCh
	return 0
}

// ParseReattach parses a RISE_REATTACH_PLUGINS value into go-plugin reattach
// configs keyed by plugin name.
func ParseReattach(s string) (map[string]*plugin.ReattachConfig, error) {
	var m map[string]reattachConfig
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", ReattachEnv, err)
	}
	out := map[string]*plugin.ReattachConfig{}
	for name, j := range m {
		addr, err := parseAddr(j.Addr.Network, j.Addr.String)
		if err != nil {
			return nil, fmt.Errorf("parse %s: plugin %s: %w", ReattachEnv, name, err)
		}
		out[name] = &plugin.ReattachConfig{
			Protocol: plugin.Protocol(j.Protocol), ProtocolVersion: j.ProtocolVersion, Pid: j.Pid, Test: j.Test, Addr: addr,
		}
	}
	return out, nil
}
