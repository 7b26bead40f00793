// Package names validates the names users choose for projects and teams and
// suggests close matches for names that do not exist ("Did you mean
// 'devops'?").
//
// A project name becomes a DNS label (https://<project>.<domain>) and a
// resource name in runtimes (Kubernetes objects, ECS services), so names
// follow RFC 1123 labels with one extra rule: they start with a letter (which
// also makes them valid RFC 1035 labels, as Kubernetes Services require).
package names

import (
	"fmt"
	"slices"
	"strings"
)

// MaxLength is the longest valid name: the length limit of one DNS label.
const MaxLength = 63

// Kind is what a name names; it appears in error messages.
type Kind string

const (
	Project Kind = "project"
	Team    Kind = "team"
)

// reserved are names that would collide with the platform's own hosts
// (<name>.<domain>) or read ambiguously in the CLI.
var reserved = map[string]bool{
	"admin": true, "api": true, "app": true, "apps": true, "assets": true,
	"auth": true, "cdn": true, "console": true, "dashboard": true, "default": true,
	"dex": true, "docs": true, "ftp": true, "health": true, "help": true,
	"imap": true, "internal": true, "kube-system": true, "localhost": true,
	"login": true, "logout": true, "mail": true, "me": true, "metrics": true,
	"new": true, "ns1": true, "ns2": true, "oauth": true, "oidc": true,
	"pop": true, "registry": true, "rise": true, "root": true, "smtp": true,
	"sso": true, "static": true, "status": true, "support": true,
	"system": true, "team": true, "user": true, "www": true,
}

// Reserved returns the reserved names, sorted.
func Reserved() []string {
	out := make([]string, 0, len(reserved))
	for n := range reserved {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// IsReserved reports whether name is reserved for the platform.
func IsReserved(name string) bool { return reserved[name] }

// Error is an invalid name. Its message says what is wrong and, when one
// exists, a valid alternative.
type Error struct {
	Kind   Kind
	Name   string
	Reason string // e.g. "must start with a letter"
	// Suggestion is a valid name close to Name ("My_App" -> "my-app"), or "".
	Suggestion string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Name == "" {
		fmt.Fprintf(&b, "%s name %s", e.Kind, e.Reason)
	} else {
		fmt.Fprintf(&b, "invalid %s name %q: %s", e.Kind, e.Name, e.Reason)
	}
	if e.Suggestion != "" {
		fmt.Fprintf(&b, " (try %q)", e.Suggestion)
	}
	return b.String()
}

// ValidateProject checks a project name.
func ValidateProject(name string) error { return Validate(Project, name) }

// ValidateTeam checks a team name.
func ValidateTeam(name string) error { return Validate(Team, name) }

// Validate checks name as a name of the given kind: 1 to 63 characters,
// lowercase letters, digits and '-', starting with a letter, not ending with
// '-', without "--", and not reserved. The returned error is an *Error.
func Validate(kind Kind, name string) error {
	if reason := check(name); reason != "" {
		e := &Error{Kind: kind, Name: name, Reason: reason}
		if s := Sanitize(name); s != "" && s != name && check(s) == "" {
			e.Suggestion = s
		}
		return e
	}
	return nil
}

// check returns why name is invalid, or "".
func check(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case len(name) > MaxLength:
		return fmt.Sprintf("is %d characters long; the maximum is %d", len(name), MaxLength)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
		case r >= 'A' && r <= 'Z':
			return "must be lowercase"
		default:
			return fmt.Sprintf("contains %q at position %d; only lowercase letters, digits and '-' are allowed", r, i+1)
		}
	}
	switch {
	case name[0] < 'a' || name[0] > 'z':
		return "must start with a letter"
	case name[len(name)-1] == '-':
		return "must end with a letter or digit"
	case strings.Contains(name, "--"):
		return "must not contain \"--\" (it separates a project from its group or environment in app hosts: <project>--<group>.<domain>)"
	case reserved[name]:
		return "is reserved"
	}
	return ""
}

// Sanitize turns s (a directory name, say) into the closest valid-looking
// name: lowercase, runs of other characters replaced by one '-', leading
// non-letters and trailing '-' dropped, cut to MaxLength. It returns "" when
// nothing usable is left. The result may still be a reserved name.
func Sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if b.Len() == 0 && r <= '9' {
				continue // must start with a letter
			}
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= MaxLength {
			break
		}
	}
	return strings.TrimRight(b.String()[:min(b.Len(), MaxLength)], "-")
}

// IsLabel reports whether s is an RFC 1123 DNS label: 1 to 63 lowercase
// letters, digits and '-', not starting or ending with '-'. It is the rule
// for deployment groups and domain labels; names of projects and teams are
// stricter (Validate).
func IsLabel(s string) bool {
	if s == "" || len(s) > MaxLength || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
