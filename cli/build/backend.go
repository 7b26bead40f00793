// Package build is rise's build orchestration: it picks a builder plugin for
// an app directory (flag > rise.hcl > rise.toml / .rise.toml > auto-detection), prepares
// the build environment (proxies, managed BuildKit), runs the builder through
// a Launcher (the plugin host) and returns the image it built or pushed. It
// also provides the `rise build` command.
package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/sdk"
)

// Launcher starts builder component name with its configuration (a JSON
// object of the component's hcl attributes) and returns it. The plugin
// host that launched it stops its process.
type Launcher func(ctx context.Context, name string, config []byte) (sdk.Builder, error)

// DetectOrder is the order builders are asked by auto-detection; on equal
// confidence the earlier one wins. docker says OK for a Dockerfile or
// Containerfile, railpack for a railpack.json, pack for anything (it is the
// fallback, as in the seed), and docker, with less confidence than pack, for
// a static site (index.html). A builder whose program is not installed ranks
// below all others (see demoteUnrunnable).
var DetectOrder = []string{"docker", "railpack", "pack"}

var pluginNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// aliases map --backend values (and the seed's backend names) to builder
// components.
var aliases = map[string]string{
	"docker": "docker", "dockerfile": "docker", "podman": "docker",
	"pack": "pack", "buildpacks": "pack", "buildpack": "pack",
	"railpack": "railpack",
}

// Backend is a resolved builder: the plugin component and its config.
type Backend struct {
	Name   string         // builder component, e.g. "docker"
	Config map[string]any // its configuration attributes
	Source string         // where the choice came from: "--backend", "rise.hcl", "auto-detected (found Dockerfile)"
}

// Method is a human name of the build method for progress messages.
func (b Backend) Method() string {
	switch b.Name {
	case "pack":
		return "buildpacks"
	case "docker":
		if b.Config["buildx"] == true {
			return "docker buildx"
		}
		if b.Config["container_cli"] == "podman" {
			return "podman"
		}
		if strings.HasPrefix(b.Source, "auto-detected (static site") {
			return "a generated Dockerfile (static site)"
		}
		return "Dockerfile"
	default:
		return b.Name
	}
}

func (b Backend) configJSON() ([]byte, error) {
	if b.Config == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(b.Config)
}

// ParseBackend resolves a --backend value: "docker", "docker:buildx",
// "podman", "pack" (= "buildpacks"), "railpack", "railpack:buildx",
// "railpack:buildctl", or the name of another builder plugin. "name:opt"
// sets the boolean option opt of the builder (docker:buildx = buildx true).
func ParseBackend(s string) (Backend, error) {
	name, opt, _ := strings.Cut(strings.TrimSpace(s), ":")
	b := Backend{Name: name, Config: map[string]any{}, Source: "--backend"}
	if a, ok := aliases[name]; ok {
		b.Name = a
	}
	if name == "podman" {
		b.Config["container_cli"] = "podman"
	}
	if !pluginNameRE.MatchString(b.Name) || (opt != "" && !pluginNameRE.MatchString(opt)) {
		known := []string{"docker", "docker:buildx", "podman", "pack", "buildpacks", "railpack", "railpack:buildx", "railpack:buildctl"}
		msg := fmt.Sprintf("%q is not a build backend; use one of %s, or the name of a builder plugin", s, strings.Join(known, ", "))
		if sug := names.Suggest(s, known); len(sug) > 0 {
			msg += fmt.Sprintf(". Did you mean '%s'?", sug[0])
		}
		return Backend{}, errors.New(msg)
	}
	switch {
	case opt == "":
	case b.Name == "railpack" && opt == "buildx": // the default frontend
	default:
		b.Config[opt] = true
	}
	return b, nil
}

// bodyConfig turns a build block body (rise.hcl or .rise.toml) into config
// attributes. Builder config is flat attributes; values are literals.
func bodyConfig(body hcl.Body) (map[string]any, error) {
	out := map[string]any{}
	if body == nil {
		return out, nil
	}
	attrs, diags := body.JustAttributes()
	if diags.HasErrors() {
		return nil, fmt.Errorf("build block: %s", diags.Error())
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, diags := attrs[k].Expr.Value(nil)
		if diags.HasErrors() {
			return nil, fmt.Errorf("build block: %s", diags.Error())
		}
		raw, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, fmt.Errorf("build block: %s: %w", k, err)
		}
		var val any
		if err := json.Unmarshal(raw, &val); err != nil {
			return nil, err
		}
		out[k] = val
	}
	return out, nil
}

// launch starts a builder.
func launch(ctx context.Context, l Launcher, b Backend) (sdk.Builder, error) {
	cfg, err := b.configJSON()
	if err != nil {
		return nil, fmt.Errorf("encode %s builder config: %w", b.Name, err)
	}
	bl, err := l(ctx, b.Name, cfg)
	if err != nil {
		return nil, fmt.Errorf("start builder %q: %w", b.Name, err)
	}
	return bl, nil
}

// detect asks every builder in DetectOrder whether it can build dir and
// returns the most confident.
func detect(ctx context.Context, l Launcher, dir string) (Backend, error) {
	var best *sdk.Detection
	var bestName string
	var reasons, failures []string
	for _, name := range DetectOrder {
		bl, err := launch(ctx, l, Backend{Name: name})
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		d, err := bl.Detect(ctx, dir)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		demoteUnrunnable(name, d)
		if d.OK && (best == nil || d.Confidence > best.Confidence) {
			best, bestName = d, name
		}
		if d.Reason != "" {
			reasons = append(reasons, name+": "+d.Reason)
		}
	}
	if best == nil {
		msg := fmt.Sprintf("cannot tell how to build %s (%s)", dir, strings.Join(append(reasons, failures...), "; "))
		return Backend{}, fmt.Errorf("%s; choose a builder with --backend docker|pack|railpack or a build block in rise.hcl", msg)
	}
	src := "auto-detected"
	if best.Reason != "" {
		src += " (" + best.Reason + ")"
	}
	return Backend{Name: bestName, Config: map[string]any{}, Source: src}, nil
}
