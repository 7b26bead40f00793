package pluginhost

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/riseplatform/rise/sdk"
)

// binary is one launchable plugin program and its warm process, if any.
type binary struct {
	h      *Host
	name   string // "runtime/docker" for built-ins, the plugin name otherwise
	source string // SourceBuiltin or the executable's path
	args   []string
	env    []string
	sha256 []byte
	attach *plugin.ReattachConfig
	info   *sdk.PluginInfo
	log    hclog.Logger

	mu      sync.Mutex
	proc    *proc
	crashed bool // the last process crashed or hung: the next start is a restart
}

// proc is a running plugin process.
type proc struct {
	client   *plugin.Client
	rpc      *sdk.Client
	stderr   *tail
	inflight int
	idle     *time.Timer
}

func (h *Host) newBinary(name, source string) *binary {
	return &binary{h: h, name: name, source: source, log: h.log.Named("plugin." + strings.ReplaceAll(name, "/", "."))}
}

var incompatibleRE = regexp.MustCompile(`Plugin version: (\d+)`)

// start launches the process, performs the handshake and dispenses the client.
func (b *binary) start() (*proc, error) {
	p := &proc{stderr: &tail{}}
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(nil),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           b.log,
		Stderr:           p.stderr,
		SyncStdout:       stdoutWarner{b.log},
		SyncStderr:       syncStderr{log: b.log, tail: p.stderr},
		StartTimeout:     b.h.opts.StartTimeout,
		GRPCDialOptions:  b.dialOptions(),
	}
	if b.attach != nil {
		set, ok := cfg.VersionedPlugins[b.attach.ProtocolVersion]
		if !ok {
			return nil, &Error{Plugin: b.name, Reason: "cannot be attached", Err: sdk.Permanent(protocolError(b.name, strconv.Itoa(b.attach.ProtocolVersion)))}
		}
		cfg.Reattach, cfg.Plugins = b.attach, set
	} else {
		cmd := exec.Command(b.args[0], b.args[1:]...)
		cmd.Env = b.env
		cfg.Cmd = cmd
		cfg.Managed = true
		cfg.AutoMTLS = true
		cfg.SkipHostEnv = true
		if b.sha256 != nil {
			cfg.SecureConfig = &plugin.SecureConfig{Checksum: b.sha256, Hash: sha256.New()}
		}
	}
	p.client = plugin.NewClient(cfg)
	rpc, err := p.client.Client()
	if err == nil {
		var raw any
		raw, err = rpc.Dispense(sdk.DispenseName)
		if err == nil {
			p.rpc = raw.(*sdk.Client)
		}
	}
	if err != nil {
		p.client.Kill()
		return nil, b.startError(err, p.stderr)
	}
	return p, nil
}

func (b *binary) startError(err error, t *tail) error {
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		err = sdk.Permanent(fmt.Errorf("the SHA-256 checksum of %s does not match the configured sha256 (reinstall the plugin or update the checksum): %w", b.args[0], err))
	case strings.Contains(msg, "incompatible API version"):
		theirs := "unknown"
		if m := incompatibleRE.FindStringSubmatch(msg); m != nil {
			theirs = m[1]
		}
		err = sdk.Permanent(protocolError(b.name, theirs))
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file"):
		err = sdk.Permanent(err)
	}
	return &Error{Plugin: b.name, Reason: "failed to start", Stderr: t.Lines(), Err: err}
}

// protocolError says that plugin name speaks another protocol version than
// this rise, naming both versions and the SDK releases that speak them.
func protocolError(name, theirs string) error {
	n, err := strconv.Atoi(theirs)
	sdkOf := func(v int) string {
		if s, ok := sdk.ProtocolSDKVersions[v]; ok {
			return s
		}
		if v > sdk.ProtocolVersion {
			return "a rise SDK newer than v" + sdk.SDKVersion
		}
		return "an unknown rise SDK"
	}
	ours := fmt.Sprintf("this rise speaks protocol %d (%s)", sdk.ProtocolVersion, sdkOf(sdk.ProtocolVersion))
	if err == nil && n < sdk.ProtocolVersion {
		return fmt.Errorf("plugin %s speaks plugin protocol %s (%s), %s: rebuild it against rise SDK v%s or later", name, theirs, sdkOf(n), ours, sdk.SDKVersion)
	}
	if err != nil {
		return fmt.Errorf("plugin %s speaks plugin protocol %s, %s: rebuild it against rise SDK v%s", name, theirs, ours, sdk.SDKVersion)
	}
	return fmt.Errorf("plugin %s speaks plugin protocol %s (%s), %s: upgrade rise, or use a build of the plugin made with rise SDK v%s", name, theirs, sdkOf(n), ours, sdk.SDKVersion)
}

// acquire returns the warm process, starting one if needed.
func (b *binary) acquire() (*proc, error) {
	b.h.mu.Lock()
	closed := b.h.closed
	b.h.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("plugin %s: the plugin host is closed", b.name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.proc; p != nil {
		if !p.client.Exited() {
			p.inflight++
			if p.idle != nil {
				p.idle.Stop()
				p.idle = nil
			}
			return p, nil
		}
		b.proc = nil
		b.crashed = true
		go p.client.Kill()
	}
	p, err := b.start()
	if err != nil {
		return nil, err
	}
	b.log.Debug("plugin process started")
	if b.crashed {
		b.crashed = false
		if o := b.h.opts.Observer; o != nil {
			o.PluginRestart(b.name)
		}
	}
	p.inflight = 1
	b.proc = p
	return p, nil
}

// release hands a process back after a call, converting a crash or hang
// into *Error and retiring the process so the next call starts afresh.
func (b *binary) release(p *proc, op string, err error, hung time.Duration) error {
	crashed := err != nil && (errors.Is(err, sdk.ErrUnavailable) || p.client.Exited())
	b.mu.Lock()
	p.inflight--
	retire := crashed || hung > 0
	if retire && b.proc == p {
		b.proc = nil
		b.crashed = true
	}
	if !retire && p.inflight == 0 && b.proc == p {
		p.idle = time.AfterFunc(b.h.opts.IdleTimeout, func() { b.reap(p) })
	}
	b.mu.Unlock()
	if !retire {
		return err
	}
	p.client.Kill() // waits for the process and its stderr
	reason := "crashed"
	if hung > 0 && !crashed {
		reason = fmt.Sprintf("did not answer within %s and was stopped", hung)
	}
	b.log.Error("plugin "+reason, "op", op, "error", err)
	return &Error{Plugin: b.name, Op: op, Reason: reason, Stderr: p.stderr.Lines(), Err: err}
}

// reap stops an idle process.
func (b *binary) reap(p *proc) {
	b.mu.Lock()
	if b.proc != p || p.inflight > 0 {
		b.mu.Unlock()
		return
	}
	b.proc = nil
	b.mu.Unlock()
	b.log.Debug("stopping idle plugin process")
	p.client.Kill()
}

func (b *binary) stop() {
	b.mu.Lock()
	p := b.proc
	b.proc = nil
	b.mu.Unlock()
	if p != nil {
		if p.idle != nil {
			p.idle.Stop()
		}
		p.client.Kill()
	}
}

// call runs f against a warm process with a per-call timeout (0 = none).
// A call that runs into that timeout (not the caller's own deadline) means
// the plugin hangs: its process is stopped and the next call starts afresh.
func (b *binary) call(ctx context.Context, op string, timeout time.Duration, f func(ctx context.Context, c *sdk.Client) error) error {
	p, err := b.acquire()
	if err != nil {
		return err
	}
	cctx, cancel := ctx, context.CancelFunc(func() {})
	ours := timeout > 0
	if ours {
		if dl, ok := ctx.Deadline(); ok && !dl.After(time.Now().Add(timeout)) {
			ours = false // the caller's deadline comes first
		}
		cctx, cancel = context.WithTimeout(ctx, timeout)
	}
	err = f(cctx, p.rpc)
	var hung time.Duration
	if err != nil && timedOut(cctx) {
		if !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
		}
		if ours {
			hung = timeout
		}
	}
	cancel()
	return b.release(p, op, err, hung)
}

// stdoutWarner logs writes a plugin made to its stdout, which plugins
// must not do.
type stdoutWarner struct{ log hclog.Logger }

func (w stdoutWarner) Write(p []byte) (int, error) {
	w.log.Warn("plugin wrote to stdout (plugins must log to stderr)", "output", strings.TrimSpace(string(p)))
	return len(p), nil
}

// syncStderr receives what a plugin wrote to os.Stderr after Serve (go-plugin
// forwards it over gRPC): kept for error messages and logged.
type syncStderr struct {
	log  hclog.Logger
	tail *tail
}

func (w syncStderr) Write(p []byte) (int, error) {
	_, _ = w.tail.Write(p)
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			w.log.Info(line)
		}
	}
	return len(p), nil
}

// timedOut reports whether a call's own deadline has (about) passed. The
// plugin side may notice the propagated deadline and reset the stream a
// moment before the client's timer fires, so allow some slack.
func timedOut(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < 100*time.Millisecond
}
