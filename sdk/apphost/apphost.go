// Package apphost is rise's one scheme for app host names: which host label
// serves which project, environment and deployment group. The edge, the
// server's URL reporting, runtime plugins that route themselves (the
// Kubernetes Ingress) and the CLI all use it, so every runtime serves the
// same URLs.
//
//	<project>.<domain>                the default group of the default environment (production)
//	<project>--<environment>.<domain> the default group of any other environment
//	<project>--<group-label>.<domain> a deployment group other than "default" (a preview), in any environment
//
// A group may contain '/' (mr/27); its label replaces each '/' with "--"
// (mr--27). The scheme is collision-free by construction:
//   - project names never contain "--", so a label splits at its first "--"
//     into the project and the rest, and no project's label is another
//     project's;
//   - group segments and environment names never contain "--" (nor start or
//     end with '-'), so the group label is reversible and two groups never
//     share one;
//   - the rise server refuses a group named like an environment of its
//     project (and the reverse), and a group used in two environments at
//     once, the only ways two targets of one project could share a label;
//   - a label longer than 63 characters (one DNS label) is refused
//     (Target.Check), never shortened.
//
// The package imports only the standard library: plugins may use it.
package apphost

import (
	"fmt"
	"strings"
)

const (
	// DefaultEnvironment is the environment every project starts with; its
	// default group is served at <project>.<domain>.
	DefaultEnvironment = "production"
	// DefaultGroup is the deployment group used when none is given.
	DefaultGroup = "default"
	// Sep separates the project from its environment or group in a label.
	Sep = "--"
	// MaxLabel is the length limit of one DNS label.
	MaxLabel = 63
)

// Target is what one app host serves: a project's deployment group in one of
// its environments. Empty Environment and Group mean the defaults.
type Target struct {
	Project     string
	Environment string
	Group       string
}

// Env returns the environment, DefaultEnvironment when empty.
func (t Target) Env() string {
	if t.Environment == "" {
		return DefaultEnvironment
	}
	return t.Environment
}

// GroupName returns the group, DefaultGroup when empty.
func (t Target) GroupName() string {
	if t.Group == "" {
		return DefaultGroup
	}
	return t.Group
}

// Suffix is the part of the label after the project and Sep: "" for the
// default environment's default group, the environment name for another
// environment's default group, the group label for any other group.
func (t Target) Suffix() string {
	if g := t.GroupName(); g != DefaultGroup {
		return GroupLabel(g)
	}
	if e := t.Env(); e != DefaultEnvironment {
		return e
	}
	return ""
}

// Label is the target's host label (see the package comment).
func (t Target) Label() string {
	if s := t.Suffix(); s != "" {
		return t.Project + Sep + s
	}
	return t.Project
}

// Host is the target's host name under domain (no port).
func (t Target) Host(domain string) string {
	return t.Label() + "." + strings.TrimPrefix(domain, ".")
}

// String names the target for messages: "shop" (production, default
// group), "shop (staging)", "shop (production, group mr/27)".
func (t Target) String() string {
	switch {
	case t.GroupName() != DefaultGroup:
		return fmt.Sprintf("%s (%s, group %s)", t.Project, t.Env(), t.GroupName())
	case t.Env() != DefaultEnvironment:
		return fmt.Sprintf("%s (%s)", t.Project, t.Env())
	}
	return t.Project
}

// Check validates the environment and group names and that the label fits
// in one DNS label. The project name is validated where projects are made.
func (t Target) Check() error {
	if t.Project == "" || strings.Contains(t.Project, Sep) {
		return fmt.Errorf("invalid project %q in an app host", t.Project)
	}
	if err := CheckEnvironment(t.Env()); err != nil {
		return err
	}
	if err := CheckGroup(t.GroupName()); err != nil {
		return err
	}
	if l := t.Label(); len(l) > MaxLabel {
		return fmt.Errorf("the app host label %q of %s is %d characters long; a DNS label holds at most %d: use a shorter group or environment name",
			l, t, len(l), MaxLabel)
	}
	return nil
}

// GroupLabel maps a group to its label part: each '/' becomes Sep
// ("mr/27" → "mr--27"). It is injective over valid groups (CheckGroup).
func GroupLabel(group string) string { return strings.ReplaceAll(group, "/", Sep) }

// CheckGroup validates a deployment group: one or more segments separated
// by '/', each of lowercase letters, digits and '-', starting and ending
// with a letter or digit and without "--"; at most MaxLabel characters.
func CheckGroup(group string) error {
	if group == "" {
		return fmt.Errorf("the deployment group must not be empty")
	}
	if len(group) > MaxLabel {
		return fmt.Errorf("invalid deployment group %q: at most %d characters", group, MaxLabel)
	}
	for _, seg := range strings.Split(group, "/") {
		if why := checkSegment(seg); why != "" {
			return fmt.Errorf("invalid deployment group %q: %s (use lowercase letters, digits, '-' and '/', like mr/27 or feature-x)", group, why)
		}
	}
	return nil
}

// CheckEnvironment validates an environment name: lowercase letters, digits
// and '-', starting with a letter, not ending with '-', without "--", at
// most MaxLabel characters.
func CheckEnvironment(name string) error {
	if name == "" {
		return fmt.Errorf("the environment name must not be empty")
	}
	if len(name) > MaxLabel {
		return fmt.Errorf("invalid environment name %q: at most %d characters", name, MaxLabel)
	}
	if why := checkSegment(name); why != "" {
		return fmt.Errorf("invalid environment name %q: %s", name, why)
	}
	if name[0] < 'a' || name[0] > 'z' {
		return fmt.Errorf("invalid environment name %q: must start with a letter", name)
	}
	return nil
}

func checkSegment(s string) string {
	if s == "" {
		return "empty segment"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return fmt.Sprintf("contains %q", c)
		}
	}
	switch {
	case s[0] == '-' || s[len(s)-1] == '-':
		return "must start and end with a letter or digit"
	case strings.Contains(s, Sep):
		return "must not contain \"--\" (it separates the parts of app hosts)"
	}
	return ""
}

// Address is a host label split into its project and suffix (Target.Suffix);
// which environment or group a suffix names is the rise server's to
// resolve (its route table).
type Address struct {
	Project string
	Suffix  string // "" for <project>.<domain>
}

// Parse splits a host label at its first Sep. It reports false for labels
// that no target produces.
func Parse(label string) (Address, bool) {
	if label == "" || len(label) > MaxLabel {
		return Address{}, false
	}
	p, s, found := strings.Cut(label, Sep)
	if p == "" || (found && s == "") {
		return Address{}, false
	}
	return Address{Project: p, Suffix: s}, true
}

// Label is the address's host label.
func (a Address) Label() string {
	if a.Suffix == "" {
		return a.Project
	}
	return a.Project + Sep + a.Suffix
}
