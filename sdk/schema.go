package sdk

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Schema is a component's configuration schema. It is derived from the
// exported `hcl:"..."` fields of the value returned by Component.New (see
// SchemaOf) and sent to the host, which decodes the user's HCL block against
// it with real source ranges.
type Schema struct {
	Attributes []AttributeSchema `json:"attributes,omitempty"`
	Blocks     []BlockSchema     `json:"blocks,omitempty"`
}

// AttributeSchema is one attribute (name = value).
type AttributeSchema struct {
	Name     string   `json:"name"`
	Type     cty.Type `json:"type"`
	Required bool     `json:"required,omitempty"`
}

// Nesting is how many blocks of one type may appear.
type Nesting int

const (
	NestingSingle Nesting = iota // at most one (exactly one when Required)
	NestingList                  // any number
)

// BlockSchema is a nested block (name "label" { ... }).
type BlockSchema struct {
	Name     string   `json:"name"`
	Nesting  Nesting  `json:"nesting"`
	Labels   []string `json:"labels,omitempty"`
	Required bool     `json:"required,omitempty"`
	Schema   *Schema  `json:"schema"`
}

var (
	exprType = reflect.TypeFor[hcl.Expression]()
	bodyType = reflect.TypeFor[hcl.Body]()
)

// SchemaOf derives the configuration schema of a component value (a pointer
// to a struct). Supported tags, as in gohcl: `hcl:"name"` (required
// attribute), `hcl:"name,optional"`, `hcl:"name,block"` on a struct, *struct
// or slice of structs, and `hcl:"name,label"` inside nested block structs.
// `hcl:",remain"` is not supported: the schema must be closed so typos are
// caught at start-up. Labelled blocks reach the plugin ordered by label, and
// a label must be unique per block type.
func SchemaOf(v any) (*Schema, error) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("config schema: %T is not a pointer to a struct (Component.New must return one)", v)
	}
	t = t.Elem()
	s, labels, err := schemaOfStruct(t, t.Name())
	if err != nil {
		return nil, err
	}
	if len(labels) > 0 {
		return nil, fmt.Errorf("config schema: %s: top-level struct cannot have label fields (%s)", t, strings.Join(labels, ", "))
	}
	return s, nil
}

func schemaOfStruct(t reflect.Type, where string) (*Schema, []string, error) {
	s := &Schema{}
	var labels []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("hcl")
		if !ok || !f.IsExported() {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		at := where + "." + f.Name
		switch kind {
		case "", "attr", "optional":
			if name == "" || name == "-" {
				continue
			}
			ty, err := attrType(f.Type)
			if err != nil {
				return nil, nil, fmt.Errorf("config schema: %s: %w", at, err)
			}
			s.Attributes = append(s.Attributes, AttributeSchema{Name: name, Type: ty, Required: kind != "optional"})
		case "label":
			labels = append(labels, name)
		case "block":
			b, err := blockSchema(name, f.Type, at)
			if err != nil {
				return nil, nil, err
			}
			s.Blocks = append(s.Blocks, *b)
		case "remain":
			return nil, nil, fmt.Errorf("config schema: %s: hcl \",remain\" fields are not supported in plugin config", at)
		default:
			return nil, nil, fmt.Errorf("config schema: %s: unknown hcl tag kind %q", at, kind)
		}
	}
	sort.Slice(s.Attributes, func(i, j int) bool { return s.Attributes[i].Name < s.Attributes[j].Name })
	sort.Slice(s.Blocks, func(i, j int) bool { return s.Blocks[i].Name < s.Blocks[j].Name })
	return s, labels, nil
}

func blockSchema(name string, ft reflect.Type, at string) (*BlockSchema, error) {
	b := &BlockSchema{Name: name}
	et := ft
	switch {
	case ft.Kind() == reflect.Struct:
		b.Required = true
	case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
		et = ft.Elem()
	case ft.Kind() == reflect.Slice:
		b.Nesting = NestingList
		et = ft.Elem()
		if et.Kind() == reflect.Pointer {
			et = et.Elem()
		}
		if et.Kind() != reflect.Struct {
			return nil, fmt.Errorf("config schema: %s: block field must be a struct, *struct or slice of structs, not %s", at, ft)
		}
	default:
		return nil, fmt.Errorf("config schema: %s: block field must be a struct, *struct or slice of structs, not %s", at, ft)
	}
	s, labels, err := schemaOfStruct(et, at)
	if err != nil {
		return nil, err
	}
	b.Schema, b.Labels = s, labels
	return b, nil
}

func attrType(t reflect.Type) (cty.Type, error) {
	if t == exprType {
		return cty.DynamicPseudoType, nil
	}
	if t == bodyType || t.Kind() == reflect.Interface || t.Kind() == reflect.Func || t.Kind() == reflect.Chan {
		return cty.NilType, fmt.Errorf("unsupported attribute type %s", t)
	}
	ty, err := gocty.ImpliedType(reflect.Zero(t).Interface())
	if err != nil {
		return cty.NilType, fmt.Errorf("attribute type %s: %w", t, err)
	}
	return ty, nil
}

// KindOf returns the kind of a component: which of Builder, Registry or
// Runtime the value returned by its New implements (exactly one).
func KindOf(c Component) (Kind, error) {
	if c.New == nil {
		return "", fmt.Errorf("component %q has no New function", c.Name)
	}
	return kindOfValue(c.Name, c.New())
}

func kindOfValue(name string, v any) (Kind, error) {
	var kinds []Kind
	if _, ok := v.(Builder); ok {
		kinds = append(kinds, KindBuilder)
	}
	if _, ok := v.(Registry); ok {
		kinds = append(kinds, KindRegistry)
	}
	if _, ok := v.(Runtime); ok {
		kinds = append(kinds, KindRuntime)
	}
	switch len(kinds) {
	case 1:
		return kinds[0], nil
	case 0:
		return "", fmt.Errorf("component %q: %T implements none of sdk.Builder, sdk.Registry, sdk.Runtime", name, v)
	default:
		return "", fmt.Errorf("component %q: %T implements more than one kind (%v)", name, v, kinds)
	}
}

// Capability names advertised in ComponentInfo.Capabilities.
const (
	CapRepository = "repository" // RepositoryManager
	CapResolve    = "resolve"    // Resolver
	CapToken      = "token"      // TokenIssuer
	CapLogs       = "logs"       // LogStreamer
	CapDestroy    = "destroy"    // Destroyer
	CapRollback   = "rollback"   // Rollbacker
)

// CapabilitiesOf lists the optional capabilities a component value implements.
func CapabilitiesOf(v any) []string {
	var caps []string
	if _, ok := v.(Registry); ok {
		if _, ok := v.(RepositoryManager); ok {
			caps = append(caps, CapRepository)
		}
		if _, ok := v.(Resolver); ok {
			caps = append(caps, CapResolve)
		}
		if _, ok := v.(TokenIssuer); ok {
			caps = append(caps, CapToken)
		}
	}
	if _, ok := v.(Runtime); ok {
		if _, ok := v.(LogStreamer); ok {
			caps = append(caps, CapLogs)
		}
		if _, ok := v.(Destroyer); ok {
			caps = append(caps, CapDestroy)
		}
		if _, ok := v.(Rollbacker); ok {
			caps = append(caps, CapRollback)
		}
	}
	return caps
}
