package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/riseplatform/rise/core/names"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// tomlApp is a rise.toml / .rise.toml: the seed's form (project = "x") or
// the reference rise's ([project] name = "x", version = 1), both with
// [build] and [deploy], and the reference rise's [environments.<name>].
type tomlApp struct {
	Version      *int64                      `toml:"version"`
	Project      toml.Primitive              `toml:"project"` // a string (seed) or a table (reference rise)
	Build        map[string]any              `toml:"build"`
	Deploy       *tomlDeploy                 `toml:"deploy"`
	Environments map[string]*tomlEnvironment `toml:"environments"`
}

// tomlProject is the reference rise's [project].
type tomlProject struct {
	Name            string            `toml:"name"`
	AccessClass     string            `toml:"access_class"`
	Visibility      string            `toml:"visibility"`
	Owner           string            `toml:"owner"`
	CustomDomains   []string          `toml:"custom_domains"`
	Env             map[string]string `toml:"env"`
	ServiceAccounts map[string]any    `toml:"service_accounts"`
}

// tomlDeploy is [deploy]: AppDeploy with TOML keys.
type tomlDeploy struct {
	Group      string            `toml:"group"`
	Port       int               `toml:"port"`
	HTTPPort   int               `toml:"http_port"`
	Replicas   int               `toml:"replicas"`
	Env        map[string]string `toml:"env"`
	HealthPath string            `toml:"health_path"`
	CPU        string            `toml:"cpu"`
	Memory     string            `toml:"memory"`
	Command    []string          `toml:"command"`
}

// tomlEnvironment is [environments.<name>].
type tomlEnvironment struct {
	Env map[string]string `toml:"env"`
}

// tomlKeys are the keys each table knows ("environments.*" stands for
// every [environments.<name>]).
var tomlKeys = map[string][]string{
	"":               {"version", "project", "build", "deploy", "environments"},
	"project":        {"name", "access_class", "visibility", "owner", "custom_domains", "env", "service_accounts"},
	"deploy":         {"group", "port", "http_port", "replicas", "env", "health_path", "cpu", "memory", "command"},
	"environments.*": {"env"},
}

// tomlBackends maps [build] backend values (the seed's and the reference
// rise's) to builder plugins.
var tomlBackends = map[string]string{
	"buildpacks": "pack", "buildpack": "pack", "pack": "pack",
	"docker": "docker", "dockerfile": "docker", "podman": "docker",
	"railpack": "railpack",
}

// buildKeys are the [build] keys known when the builder is a built-in one
// (docker, pack, railpack) or auto-detected: the reference rise's, and the
// built-in builders' own options. A [build] naming another builder plugin
// passes its keys to that plugin, which checks them.
var buildKeys = []string{
	// every builder (see AppBuild)
	"backend", "env", "build_args", "platform", "no_cache", "managed_buildkit",
	// the reference rise's, mapped or refused below
	"build_context", "build_contexts", "railpack_embed_ssl_cert",
	// docker
	"dockerfile", "context", "buildx", "container_cli", "target", "base_image",
	// pack
	"builder", "buildpacks", "pull_policy", "trust_builder",
	// railpack
	"buildctl", "build_cmd", "start_cmd", "frontend",
}

// ParseAppTOML decodes and validates a rise.toml / .rise.toml read from
// filename and maps it onto App:
//
//	project = "x"  or  [project] name = "x"      -> project = "x"
//	[project] access_class / visibility, owner   -> visibility, owner
//	[project.env]                                -> deploy { env } (under [deploy.env])
//	[build] backend = "buildpacks"               -> build "pack" {}
//	[build] backend = "railpack:buildctl", builder = "b"
//	                                             -> build "railpack" { buildctl = true  builder = "b" }
//	[build] backend = "podman"                   -> build "docker" { container_cli = "podman" }
//	[build] backend = "docker:buildx"            -> build "docker" { buildx = true }
//	[build] build_context = "d"                  -> build "docker" { context = "d" }
//	[build] env, build_args, platform, no_cache, managed_buildkit
//	                                             -> options every builder takes (AppBuild)
//	[deploy] port (or http_port) = 8080 ... [deploy.env]
//	                                             -> deploy { port = 8080 ... env = {...} }
//	[environments.<name>]                        -> validated, not applied (warning)
//
// Other [build] keys become attributes of the build body (the builder
// plugin validates them). A [build] without backend means auto-detect with
// those options: Builder is "". Unknown keys are errors with a "did you
// mean"; parts rise does not have (custom domains, declarative service
// accounts, environments) are warnings saying they are ignored.
func ParseAppTOML(src []byte, filename string) (*App, hcl.Diagnostics) {
	tf := newTOMLFile(src, filename)
	var t tomlApp
	md, err := toml.Decode(string(src), &t)
	if err != nil {
		return nil, hcl.Diagnostics{tf.decodeError(err)}
	}
	c := &checker{}
	app := &App{Path: filename}
	if t.Version != nil && *t.Version != 1 {
		c.errorf(tf.keyRange("", "version"), "Unsupported version", "version must be 1 (the only rise.toml version), not %d.", *t.Version)
	}
	var projectEnv map[string]string
	switch md.Type("project") {
	case "":
	case "String":
		if err := md.PrimitiveDecode(t.Project, &app.Project); err != nil {
			c.errorf(tf.keyRange("", "project"), "Invalid project", "%v.", err)
		}
	case "Hash":
		var p tomlProject
		if err := md.PrimitiveDecode(t.Project, &p); err != nil {
			d := tf.decodeError(err)
			d.Summary, d.Subject = "Invalid [project]", ptr(tf.keyRange("project", ""))
			c.diags = append(c.diags, d)
			break
		}
		app.Project, app.Owner, projectEnv = p.Name, p.Owner, p.Env
		app.projectTable = true
		app.Visibility, app.accessKey = p.AccessClass, "access_class"
		if p.Visibility != "" {
			app.accessKey = "visibility"
			if p.AccessClass != "" && p.AccessClass != p.Visibility {
				c.errorf(tf.keyRange("project", "visibility"), "Conflicting visibility", "[project] sets access_class = %q and visibility = %q; keep one.", p.AccessClass, p.Visibility)
			}
			app.Visibility = p.Visibility
		}
		if p.Name == "" {
			c.errorf(tf.keyRange("project", ""), "Missing project name", `[project] needs name = "<project>".`)
		}
		if len(p.CustomDomains) > 0 {
			c.warnf(tf.keyRange("project", "custom_domains"), "Ignored custom_domains", "rise serves every project at https://<project>.<domain> and has no custom domains yet; custom_domains is ignored.")
		}
		if len(p.ServiceAccounts) > 0 {
			c.warnf(tf.keyRange("project", ""), "Ignored service_accounts", "rise does not create service accounts from the app file; create them with `rise service-account create`. [project.service_accounts] is ignored.")
		}
	default:
		c.errorf(tf.keyRange("", "project"), "Invalid project", "project must be a name (project = \"my-app\") or a [project] table with name = \"my-app\", not a %s.", strings.ToLower(md.Type("project")))
	}
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
keys:
	for _, k := range md.Undecoded() {
		for i := 1; i < len(k); i++ {
			if undecoded[k[:i].String()] || (i == 1 && k[0] == "build") {
				continue keys // inside an unknown key, or a [build] value (checked below)
			}
		}
		table, key := "", k[len(k)-1]
		if len(k) > 1 {
			table = strings.Join(k[:len(k)-1], ".")
		}
		if strings.HasPrefix(table, "project.service_accounts") || (table == "" && key == "project") {
			continue // ignored (warned above) / decoded as a primitive
		}
		known := tomlKeys[table]
		if len(k) == 3 && k[0] == "environments" {
			known = tomlKeys["environments.*"]
		}
		c.diags = append(c.diags, unknownKey(tf.keyRange(table, key), where(table), key, known))
	}
	if t.Build != nil {
		app.Build = tf.build(c, t.Build)
	}
	if d := t.Deploy; d != nil {
		port := d.Port
		if d.HTTPPort != 0 {
			if d.Port != 0 && d.Port != d.HTTPPort {
				c.errorf(tf.keyRange("deploy", "http_port"), "Conflicting port", "[deploy] sets port = %d and http_port = %d; they are the same setting, keep one.", d.Port, d.HTTPPort)
			}
			port = d.HTTPPort
		}
		app.Deploy = &AppDeploy{Group: d.Group, Port: port, Replicas: d.Replicas, Env: d.Env,
			HealthPath: d.HealthPath, CPU: d.CPU, Memory: d.Memory, Command: d.Command}
	}
	if len(projectEnv) > 0 {
		// [project.env] are the project's plain variables: every deployment
		// gets them; [deploy.env] wins for the same name.
		if app.Deploy == nil {
			app.Deploy = &AppDeploy{}
		}
		env := maps.Clone(projectEnv)
		maps.Copy(env, app.Deploy.Env)
		app.Deploy.Env = env
		for k := range projectEnv {
			if !envNameRE.MatchString(k) {
				c.errorf(tf.keyRange("project.env", k), "Invalid env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit).", k)
			}
		}
	}
	if len(t.Environments) > 0 {
		app.Environments = map[string]*AppEnvironment{}
		for _, name := range slices.Sorted(maps.Keys(t.Environments)) {
			e := t.Environments[name]
			table := "environments." + name
			if !names.IsLabel(name) {
				c.errorf(tf.keyRange(table, ""), "Invalid environment", "%q: an environment name is 1-63 lowercase letters, digits or '-', e.g. \"staging\".", name)
			}
			ae := &AppEnvironment{}
			if e != nil {
				ae.Env = e.Env
			}
			for k := range ae.Env {
				if !envNameRE.MatchString(k) {
					c.errorf(tf.keyRange(table+".env", k), "Invalid env", "%q is not an environment variable name (letters, digits and '_', not starting with a digit).", k)
				}
			}
			app.Environments[name] = ae
			c.warnf(tf.keyRange(table, ""), "Environments not supported yet",
				"rise has no environments yet: [%s] is checked but not applied, and its variables are not set on any deployment.", table)
		}
	}
	c.diags = append(c.diags, app.check(tf.keyRange)...)
	if c.diags.HasErrors() {
		return nil, sorted(c.diags)
	}
	return app, sorted(c.diags)
}

// unknownKey is the "Unsupported key" error with a suggestion.
func unknownKey(r hcl.Range, where, key string, known []string) *hcl.Diagnostic {
	detail := fmt.Sprintf("%s does not know the key %q", where, key)
	if s := names.Suggest(key, known); len(s) > 0 {
		detail += fmt.Sprintf("; did you mean %q?", s[0])
	} else if len(known) > 0 {
		detail += fmt.Sprintf("; expected one of %s.", strings.Join(known, ", "))
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported key", Detail: detail, Subject: &r}
}

func ptr[T any](v T) *T { return &v }

// build maps the [build] table.
func (tf tomlFile) build(c *checker, tbl map[string]any) *AppBuild {
	b := &AppBuild{DefRange: tf.keyRange("build", "")}
	body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: b.DefRange, EndRange: b.DefRange}
	if v, ok := tbl["backend"]; ok {
		s, _ := v.(string)
		b.Backend = s
		r := tf.keyRange("build", "backend")
		name, opt, _ := strings.Cut(s, ":")
		if p, ok := tomlBackends[name]; ok {
			name = p
		}
		switch {
		case name == "buildctl" || (name == "docker" && opt == "buildctl"):
			c.errorf(r, "Unsupported backend", "%q: rise's docker builder runs docker build or docker buildx, not buildctl; use backend = \"docker:buildx\" (or \"railpack:buildctl\" for Railpack).", s)
		case name == "docker" && opt == "build":
			opt = "" // the reference rise's name for plain docker build
		case name == "railpack" && opt == "buildx":
			opt = "" // railpack's default frontend
		}
		if !pluginNameRE.MatchString(name) || (opt != "" && !pluginNameRE.MatchString(opt)) {
			c.errorf(r, "Invalid backend",
				"%q is not a build backend; expected \"buildpacks\", \"docker\", \"docker:buildx\", \"railpack\", \"railpack:buildctl\" or the name of a builder plugin.", s)
		}
		if name == "docker" && strings.HasPrefix(s, "podman") {
			body.Attributes["container_cli"] = literal("container_cli", cty.StringVal("podman"), r)
		}
		b.Builder = name
		if opt != "" {
			body.Attributes[opt] = literal(opt, cty.True, r)
		}
	}
	builtin := b.Builder == "" || slices.Contains([]string{"docker", "pack", "railpack"}, b.Builder)
	for _, k := range slices.Sorted(maps.Keys(tbl)) {
		r := tf.keyRange("build", k)
		v := tbl[k]
		bad := func(want string) { c.errorf(r, "Invalid "+k, "[build] %s must be %s.", k, want) }
		switch k {
		case "backend":
			continue
		case "env":
			// The reference rise: ["KEY=VALUE", "KEY"] for every builder.
			list, ok := stringList(v)
			if !ok {
				bad(`a list of "KEY=VALUE" or "KEY" strings`)
				continue
			}
			for _, e := range list {
				if name, _, _ := strings.Cut(e, "="); !envNameRE.MatchString(name) {
					c.errorf(r, "Invalid env", "[build] env: %q is not KEY=VALUE or KEY.", e)
				}
			}
			b.BuildArgs = append(b.BuildArgs, list...)
			continue
		case "build_args":
			m, ok := v.(map[string]any)
			if !ok {
				bad(`a table of KEY = "VALUE"`)
				continue
			}
			for _, name := range slices.Sorted(maps.Keys(m)) {
				s, ok := m[name].(string)
				if !ok || !envNameRE.MatchString(name) {
					c.errorf(r, "Invalid build_args", "[build] build_args: %q must be a name with a string value.", name)
					continue
				}
				b.BuildArgs = append(b.BuildArgs, name+"="+s)
			}
			continue
		case "platform":
			if b.Platform, _ = v.(string); b.Platform == "" {
				bad(`a platform like "linux/amd64"`)
			}
			continue
		case "no_cache", "managed_buildkit":
			on, ok := v.(bool)
			if !ok {
				bad("true or false")
			}
			if k == "no_cache" {
				b.NoCache = on
			} else {
				b.ManagedBuildkit = on
			}
			continue
		case "build_context":
			k = "context"
		case "build_contexts":
			c.errorf(r, "Unsupported key", "[build] build_contexts: named build contexts are not supported by rise's docker builder yet; copy what the Dockerfile needs into the build context.")
			continue
		case "railpack_embed_ssl_cert":
			c.warnf(r, "Ignored key", "[build] railpack_embed_ssl_cert is ignored: rise passes SSL_CERT_FILE's CA to builds through managed BuildKit (managed_buildkit = true).")
			continue
		default:
			if builtin && !slices.Contains(buildKeys, k) {
				c.diags = append(c.diags, unknownKey(r, "[build]", k, buildKeys))
				continue
			}
		}
		val, err := toCty(v)
		if err != nil {
			c.errorf(r, "Unsupported value", "[build] %s: %v.", k, err)
			continue
		}
		body.Attributes[k] = literal(k, val, r)
	}
	b.Body = body
	return b
}

// stringList is v as a list of strings.
func stringList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(l))
	for i, e := range l {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

// literal is a synthesised attribute name = val at r (the TOML key's line).
func literal(name string, val cty.Value, r hcl.Range) *hclsyntax.Attribute {
	return &hclsyntax.Attribute{Name: name, Expr: &hclsyntax.LiteralValueExpr{Val: val, SrcRange: r}, SrcRange: r, NameRange: r, EqualsRange: r}
}

// toCty converts a decoded TOML value.
func toCty(v any) (cty.Value, error) {
	switch v := v.(type) {
	case []any:
		vals := make([]cty.Value, len(v))
		for i, e := range v {
			cv, err := toCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			vals[i] = cv
		}
		return cty.TupleVal(vals), nil
	case map[string]any:
		vals := make(map[string]cty.Value, len(v))
		for k, e := range v {
			cv, err := toCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			vals[k] = cv
		}
		return cty.ObjectVal(vals), nil
	case string, bool, int64, float64:
		ty, err := gocty.ImpliedType(v)
		if err != nil {
			return cty.NilVal, err
		}
		return gocty.ToCtyValue(v, ty)
	default:
		return cty.NilVal, fmt.Errorf("TOML values of type %T are not supported here", v)
	}
}

func where(table string) string {
	if table == "" {
		return "The top level"
	}
	return "[" + table + "]"
}

// tomlFile finds source ranges in a TOML file by scanning its lines: enough
// for the flat files rise reads.
type tomlFile struct {
	src   []byte
	name  string
	lines []string // src split into lines; newTOMLFile fills it
}

func newTOMLFile(src []byte, name string) tomlFile {
	return tomlFile{src: src, name: name, lines: strings.Split(string(src), "\n")}
}

var (
	lineRE    = regexp.MustCompile(`line (\d+)`)
	lastKeyRE = regexp.MustCompile(`^\(last key "([^"]+)"\): `)
)

// decodeError turns a TOML decode error into a diagnostic at its line.
func (tf tomlFile) decodeError(err error) *hcl.Diagnostic {
	var pe toml.ParseError
	line, col := 0, 1
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	if errors.As(err, &pe) {
		line, col = pe.Position.Line, max(pe.Position.Col, 1)
		msg = pe.Message
	} else if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(msg, m[0]+" ")
	}
	msg = lastKeyRE.ReplaceAllString(msg, "$1: ")
	r := tf.lineRange(line, col)
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid TOML", Detail: msg + ".", Subject: &r}
}

// lineRange is the range from line:col to the end of that line.
func (tf tomlFile) lineRange(line, col int) hcl.Range {
	start := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(tf.src[start:], '\n')
		if i < 0 {
			return tf.lineRange(0, 1)
		}
		start += i + 1
	}
	if line < 1 {
		line = 1
	}
	end := len(tf.src)
	if i := bytes.IndexByte(tf.src[start:], '\n'); i >= 0 {
		end = start + i
	}
	s := min(start+col-1, end)
	return hcl.Range{
		Filename: tf.name,
		Start:    hcl.Pos{Line: line, Column: s - start + 1, Byte: s},
		End:      hcl.Pos{Line: line, Column: end - start + 1, Byte: end},
	}
}

// keyRange is the range of "key = value" in [table] ("" = top level), of
// the [table] header when key is "", or of the table's header (else the
// file's start) when the key is not found.
//
// A table without its own header is looked for as the first header inside
// it ([environments.staging] for [environments.staging.env]), and a key
// not found in its table as an inline table's ([deploy] env = {...}).
func (tf tomlFile) keyRange(table, key string) hcl.Range {
	cur, header, sub := "", 0, 0
	lines := tf.lines
	if lines == nil {
		lines = strings.Split(string(tf.src), "\n")
	}
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			cur = strings.TrimSpace(strings.Trim(strings.SplitN(t, "#", 2)[0], "[] \t"))
			if cur == table {
				header = i + 1
				if key == "" {
					return tf.lineRange(i+1, strings.Index(line, "[")+1)
				}
			}
			if sub == 0 && table != "" && strings.HasPrefix(cur, table+".") {
				sub = i + 1
			}
			continue
		}
		if cur != table || key == "" {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		if ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			return tf.lineRange(i+1, strings.Index(line, t)+1)
		}
	}
	if header == 0 && key == "" && sub > 0 {
		return tf.lineRange(sub, strings.Index(lines[sub-1], "[")+1)
	}
	// App files nest a few levels at most ([environments.x.env]); deeper
	// tables are not looked for in their parents, keeping this linear.
	if parent, last, ok := cutLast(table); ok && strings.Count(table, ".") < 4 && (header == 0 || key != "") {
		if r := tf.keyRange(parent, last); r.Start.Line > 1 || header == 0 {
			return r
		}
	}
	return tf.lineRange(header, 1)
}

// cutLast splits "a.b.c" into "a.b" and "c".
func cutLast(table string) (string, string, bool) {
	i := strings.LastIndexByte(table, '.')
	if i < 0 {
		return "", "", false
	}
	return table[:i], table[i+1:], true
}
