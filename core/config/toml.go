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

// tomlApp is the seed's .rise.toml.
type tomlApp struct {
	Project string         `toml:"project"`
	Build   map[string]any `toml:"build"`
	Deploy  *tomlDeploy    `toml:"deploy"`
}

// tomlDeploy is [deploy]: AppDeploy with TOML keys.
type tomlDeploy struct {
	Group      string            `toml:"group"`
	Port       int               `toml:"port"`
	Replicas   int               `toml:"replicas"`
	Env        map[string]string `toml:"env"`
	HealthPath string            `toml:"health_path"`
	CPU        string            `toml:"cpu"`
	Memory     string            `toml:"memory"`
	Command    []string          `toml:"command"`
}

// tomlKeys are the keys tomlApp and tomlDeploy know, per table.
var tomlKeys = map[string][]string{
	"":       {"project", "build", "deploy"},
	"deploy": {"group", "port", "replicas", "env", "health_path", "cpu", "memory", "command"},
}

// tomlBackends maps the seed's [build] backend values to builder plugins.
var tomlBackends = map[string]string{
	"buildpacks": "pack", "buildpack": "pack", "pack": "pack",
	"docker": "docker", "dockerfile": "docker", "podman": "docker",
	"railpack": "railpack",
}

// ParseAppTOML decodes and validates a .rise.toml read from filename and maps
// it onto App:
//
//	project = "x"                      -> project = "x"
//	[build] backend = "buildpacks"     -> build "pack" {}
//	[build] backend = "railpack:buildctl", builder = "b"
//	                                   -> build "railpack" { buildctl = true  builder = "b" }
//	[build] backend = "podman"         -> build "docker" { container_cli = "podman" }
//	[deploy] port = 8080 ... [deploy.env] -> deploy { port = 8080 ... env = {...} }
//
// Every [build] key except backend becomes an attribute of the build body
// (the builder plugin validates them). A [build] without backend means
// auto-detect with those options: Builder is "".
func ParseAppTOML(src []byte, filename string) (*App, hcl.Diagnostics) {
	tf := tomlFile{src: src, name: filename}
	var t tomlApp
	md, err := toml.Decode(string(src), &t)
	if err != nil {
		return nil, hcl.Diagnostics{tf.decodeError(err)}
	}
	c := &checker{}
	for _, k := range md.Undecoded() {
		table, key := "", k[len(k)-1]
		if len(k) > 1 {
			table = strings.Join(k[:len(k)-1], ".")
		}
		detail := fmt.Sprintf("%s does not know the key %q", where(table), key)
		known := tomlKeys[table]
		if s := names.Suggest(key, known); len(s) > 0 {
			detail += fmt.Sprintf("; did you mean %q?", s[0])
		} else if len(known) > 0 {
			detail += fmt.Sprintf("; expected one of %s.", strings.Join(known, ", "))
		}
		c.errorf(tf.keyRange(table, key), "Unsupported key", "%s", detail)
	}
	app := &App{Project: t.Project, Path: filename}
	if t.Build != nil {
		app.Build = tf.build(c, t.Build)
	}
	if d := t.Deploy; d != nil {
		app.Deploy = &AppDeploy{Group: d.Group, Port: d.Port, Replicas: d.Replicas, Env: d.Env,
			HealthPath: d.HealthPath, CPU: d.CPU, Memory: d.Memory, Command: d.Command}
	}
	c.diags = append(c.diags, app.check(tf.keyRange)...)
	if c.diags.HasErrors() {
		return nil, sorted(c.diags)
	}
	return app, sorted(c.diags)
}

// build maps the [build] table.
func (tf tomlFile) build(c *checker, tbl map[string]any) *AppBuild {
	b := &AppBuild{DefRange: tf.keyRange("build", "")}
	body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}, SrcRange: b.DefRange, EndRange: b.DefRange}
	if v, ok := tbl["backend"]; ok {
		s, _ := v.(string)
		b.Backend = s
		name, opt, _ := strings.Cut(s, ":")
		if p, ok := tomlBackends[name]; ok {
			name = p
		}
		if !pluginNameRE.MatchString(name) || (opt != "" && !pluginNameRE.MatchString(opt)) {
			c.errorf(tf.keyRange("build", "backend"), "Invalid backend",
				"%q is not a build backend; expected \"buildpacks\", \"docker\", \"railpack\", \"railpack:buildctl\" or the name of a builder plugin.", s)
		}
		r := tf.keyRange("build", "backend")
		if name == "docker" && strings.HasPrefix(s, "podman") {
			body.Attributes["container_cli"] = literal("container_cli", cty.StringVal("podman"), r)
		}
		b.Builder = name
		if opt != "" {
			body.Attributes[opt] = literal(opt, cty.True, r)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(tbl)) {
		if k == "backend" {
			continue
		}
		r := tf.keyRange("build", k)
		val, err := toCty(tbl[k])
		if err != nil {
			c.errorf(r, "Unsupported value", "[build] %s: %v.", k, err)
			continue
		}
		body.Attributes[k] = literal(k, val, r)
	}
	b.Body = body
	return b
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
	src  []byte
	name string
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
func (tf tomlFile) keyRange(table, key string) hcl.Range {
	cur, header := "", 0
	for i, line := range strings.Split(string(tf.src), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			cur = strings.TrimSpace(strings.Trim(strings.SplitN(t, "#", 2)[0], "[] \t"))
			if cur == table {
				header = i + 1
				if key == "" {
					return tf.lineRange(i+1, strings.Index(line, "[")+1)
				}
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
	return tf.lineRange(header, 1)
}
