package pluginhost

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/riseplatform/rise/sdk"
)

// BinaryPrefix is the file name prefix of external plugin executables.
const BinaryPrefix = "rise-plugin-"

// discover lists external plugins: `plugin` blocks first, then executables
// in the plugin directories, then reattach (debug) plugins.
func (h *Host) discover() ([]*binary, error) {
	var out []*binary
	seen := map[string]bool{}
	var errs []error
	for _, pc := range h.opts.Plugins {
		if seen[pc.Name] {
			errs = append(errs, fmt.Errorf("plugin %q is declared twice", pc.Name))
			continue
		}
		seen[pc.Name] = true
		path := pc.Path
		if path == "" {
			path = h.findInDirs(pc.Name)
			if path == "" {
				errs = append(errs, fmt.Errorf("plugin %q: no path set and no %s%s found in %s", pc.Name, BinaryPrefix, pc.Name, strings.Join(h.opts.PluginDirs, ", ")))
				continue
			}
		}
		abs, err := filepath.Abs(expandHome(path))
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %q: %w", pc.Name, err))
			continue
		}
		b := h.newBinary(pc.Name, abs)
		b.args = []string{abs}
		b.env = externalEnv(pc.Env)
		if pc.SHA256 != "" {
			sum, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(pc.SHA256), "sha256:"))
			if err != nil || len(sum) != 32 {
				errs = append(errs, fmt.Errorf("plugin %q: sha256 must be 64 hex digits, got %q", pc.Name, pc.SHA256))
				continue
			}
			b.sha256 = sum
		}
		out = append(out, b)
	}
	for _, dir := range h.opts.PluginDirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read plugin directory: %w", err))
			continue
		}
		for _, e := range entries {
			name, ok := pluginName(e.Name())
			if !ok || seen[name] {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
				continue
			}
			seen[name] = true
			b := h.newBinary(name, path)
			b.args = []string{path}
			b.env = h.opts.Env
			out = append(out, b)
		}
	}
	if *h.opts.Reattach != "" {
		attach, err := sdk.ParseReattach(*h.opts.Reattach)
		if err != nil {
			errs = append(errs, err)
		}
		names := make([]string, 0, len(attach))
		for n := range attach {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			i := slices.IndexFunc(out, func(b *binary) bool { return b.name == n })
			if i < 0 {
				b := h.newBinary(n, "reattach")
				out = append(out, b)
				i = len(out) - 1
			}
			out[i].attach, out[i].source = attach[n], "reattach (pid "+fmt.Sprint(attach[n].Pid)+")"
			h.log.Info("using a plugin started in debug mode", "plugin", n, "pid", attach[n].Pid)
		}
	}
	return out, errors.Join(errs...)
}

// pluginName extracts <name> from rise-plugin-<name>[.exe].
func pluginName(file string) (string, bool) {
	if !strings.HasPrefix(file, BinaryPrefix) {
		return "", false
	}
	name := strings.TrimSuffix(strings.TrimPrefix(file, BinaryPrefix), ".exe")
	return name, name != "" && !strings.ContainsAny(name, " .")
}

func (h *Host) findInDirs(name string) string {
	for _, dir := range h.opts.PluginDirs {
		p := filepath.Join(dir, BinaryPrefix+name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// fingerprint launches an external plugin, asks for its info, checks it and
// registers its components. The process stays warm for IdleTimeout.
func (h *Host) fingerprint(ctx context.Context, b *binary) error {
	var info *sdk.PluginInfo
	err := b.call(ctx, "GetInfo", h.opts.CallTimeout, func(ctx context.Context, c *sdk.Client) error {
		var err error
		info, err = c.Info(ctx)
		return err
	})
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return err
		}
		return fmt.Errorf("plugin %s (%s): describe: %w", b.name, b.source, err)
	}
	if len(info.Components) == 0 {
		return fmt.Errorf("plugin %s (%s) serves no components", b.name, b.source)
	}
	for _, ci := range info.Components {
		switch ci.Kind {
		case sdk.KindBuilder, sdk.KindRegistry, sdk.KindRuntime:
		default:
			return fmt.Errorf("plugin %s (%s): component %q has an unknown kind %q (newer plugin protocol?)", b.name, b.source, ci.Name, ci.Kind)
		}
	}
	b.info = info
	h.mu.Lock()
	defer h.mu.Unlock()
	h.binaries = append(h.binaries, b)
	for _, ci := range info.Components {
		key := ci.ID()
		if old, ok := h.comps[key]; ok {
			if old.bin.source != SourceBuiltin {
				h.log.Warn("plugin component is served by two plugins; keeping the first", "component", key.String(), "kept", old.bin.source, "ignored", b.source)
				continue
			}
			h.log.Info("external plugin overrides built-in", "component", key.String(), "path", b.source, "version", info.Version)
		}
		h.comps[key] = &component{info: ci, bin: b}
	}
	h.log.Debug("plugin fingerprinted", "plugin", b.name, "version", info.Version, "components", len(info.Components))
	return nil
}
