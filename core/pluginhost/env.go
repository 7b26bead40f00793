package pluginhost

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// passEnv lists the host variables built-in plugins inherit: what container
// engines, Kubernetes clients, cloud SDKs and build tools need. Everything
// else (database URLs, tokens, secrets) stays in the host.
var passEnv = []string{
	"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR",
	"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
	"DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION", "DOCKER_CONTEXT",
	"CONTAINER_HOST", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "BUILDKIT_HOST",
	"KUBECONFIG",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"RISE_LOG_LEVEL",
}

// passEnvPrefixes are variable prefixes built-ins inherit (cloud SDKs).
var passEnvPrefixes = []string{"AWS_"}

// DefaultEnv is the environment built-in plugins get: the allow-listed
// variables of this process.
func DefaultEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if keep(k) {
			out = append(out, kv)
		}
	}
	return out
}

func keep(k string) bool {
	for _, p := range passEnv {
		if k == p {
			return true
		}
	}
	for _, p := range passEnvPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// externalEnv is an external plugin's environment: exactly its `env` map,
// plus PATH, HOME and TMPDIR from the host unless the map sets them.
func externalEnv(env map[string]string) []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if _, set := env[k]; !set {
			if v, ok := os.LookupEnv(k); ok {
				out = append(out, k+"="+v)
			}
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// DefaultPluginDirs are searched for rise-plugin-<name> executables when
// Options.PluginDirs is nil: PluginDirs("").
func DefaultPluginDirs() []string { return PluginDirs("") }

// PluginDirs is the plugin search path for a config's plugin_dir:
// $RISE_PLUGIN_DIR (a list, like PATH), then pluginDir (if set), then
// ~/.config/rise/plugins.
func PluginDirs(pluginDir string) []string {
	var dirs []string
	if v := os.Getenv("RISE_PLUGIN_DIR"); v != "" {
		dirs = append(dirs, filepath.SplitList(v)...)
	}
	if pluginDir != "" {
		dirs = append(dirs, expandHome(pluginDir))
	}
	home, err := os.UserHomeDir()
	if err != nil {
		if u, uerr := user.Current(); uerr == nil {
			home = u.HomeDir
		}
	}
	if home != "" {
		dirs = append(dirs, filepath.Join(home, ".config", "rise", "plugins"))
	}
	return dirs
}
