package sdk

import (
	"errors"
	"fmt"
	"slices"
)

// SDKVersion is the version of this SDK, reported by plugins in GetInfo.
const SDKVersion = "0.3.0"

// ProtocolSDKVersions says which SDK versions (module tags sdk/vX.Y.Z) speak
// each plugin protocol version: the compatibility table of docs/plugins.md,
// used in the host's message when it refuses a plugin.
var ProtocolSDKVersions = map[int]string{
	1:               "rise SDK v0.1.x",
	ProtocolVersion: "rise SDK v0.2.0 to v" + SDKVersion,
}

// PluginInfo describes a plugin binary: what `describe` prints and what the
// host fingerprints.
type PluginInfo struct {
	Name       string          `json:"name"`
	Version    string          `json:"version"`
	SDKVersion string          `json:"sdk_version"`
	Protocols  []int           `json:"protocol_versions"`
	Components []ComponentInfo `json:"components"`
}

// ComponentInfo describes one component of a plugin.
type ComponentInfo struct {
	Kind         Kind     `json:"kind"`
	Name         string   `json:"name"`
	Description  string   `json:"description,omitempty"`
	Schema       *Schema  `json:"config_schema"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// ID returns the component's id (kind/name).
func (c ComponentInfo) ID() ComponentID { return ComponentID{Kind: c.Kind, Name: c.Name} }

// Has reports whether the component advertises capability c.
func (c ComponentInfo) Has(capability string) bool {
	return slices.Contains(c.Capabilities, capability)
}

// Describe derives a plugin's info (kinds, schemas, capabilities) from its
// components, checking that every component is well-formed.
func Describe(p Plugin) (*PluginInfo, error) {
	if p.Name == "" {
		return nil, errors.New("plugin has no name")
	}
	info := &PluginInfo{Name: p.Name, Version: p.Version, SDKVersion: SDKVersion, Protocols: []int{ProtocolVersion}}
	seen := map[ComponentID]bool{}
	for _, c := range p.Components {
		ci, err := DescribeComponent(c)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", p.Name, err)
		}
		key := ci.ID()
		if seen[key] {
			return nil, fmt.Errorf("plugin %s: duplicate component %s", p.Name, key)
		}
		seen[key] = true
		info.Components = append(info.Components, *ci)
	}
	if len(info.Components) == 0 {
		return nil, fmt.Errorf("plugin %s has no components", p.Name)
	}
	return info, nil
}

// DescribeComponent derives one component's info.
func DescribeComponent(c Component) (*ComponentInfo, error) {
	if c.Name == "" {
		return nil, errors.New("component has no name")
	}
	if c.New == nil {
		return nil, fmt.Errorf("component %q has no New function", c.Name)
	}
	v := c.New()
	kind, err := kindOfValue(c.Name, v)
	if err != nil {
		return nil, err
	}
	schema, err := SchemaOf(v)
	if err != nil {
		return nil, fmt.Errorf("component %s/%s: %w", kind, c.Name, err)
	}
	return &ComponentInfo{Kind: kind, Name: c.Name, Description: c.Description, Schema: schema, Capabilities: CapabilitiesOf(v)}, nil
}
