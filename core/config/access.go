package config

import (
	"slices"
	"strings"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
)

// Built-in access classes of a project's apps. Operators add named classes
// in server.hcl (access { class "internal" { groups = [...] } }).
const (
	ClassPublic        = api.AccessPublic        // anyone
	ClassAuthenticated = api.AccessAuthenticated // anyone who can log in (access { authenticated { ... } } may narrow it)
	ClassPrivate       = api.AccessPrivate       // owners, the owning team, app users, admins
)

// BuiltinClasses are the classes every server has, in order of openness.
var BuiltinClasses = []string{ClassPublic, ClassAuthenticated, ClassPrivate}

// Access configures who may use apps beyond their owners.
type Access struct {
	// Authenticated narrows the "authenticated" class to users matching
	// the rule; without it, any user who can log in to rise matches.
	Authenticated *AccessRule `hcl:"authenticated,block"`
	// Classes are the operator's named classes.
	Classes []*AccessClass `hcl:"class,block"`
}

// AccessRule matches users by email domain or identity-provider group;
// a user matching either list matches. An empty rule matches everyone.
type AccessRule struct {
	EmailDomains []string `hcl:"email_domains,optional"` // e.g. ["example.com"]
	Groups       []string `hcl:"groups,optional"`        // groups from the IdP's groups claim
}

// AccessClass is an operator-defined class: the users matching its rule
// (plus owners, the owning team, app users and admins) may use the app.
type AccessClass struct {
	Name         string   `hcl:"name,label"`
	Description  string   `hcl:"description,optional"`
	EmailDomains []string `hcl:"email_domains,optional"`
	Groups       []string `hcl:"groups,optional"`
}

// Rule is the class's rule.
func (c *AccessClass) Rule() AccessRule {
	return AccessRule{EmailDomains: c.EmailDomains, Groups: c.Groups}
}

// Matches reports whether a user with email and groups matches r (an
// empty rule matches everyone).
func (r AccessRule) Matches(email string, groups []string) bool {
	if len(r.EmailDomains) == 0 && len(r.Groups) == 0 {
		return true
	}
	_, domain, _ := strings.Cut(strings.ToLower(email), "@")
	if domain != "" && slices.Contains(r.EmailDomains, domain) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(r.Groups, g) {
			return true
		}
	}
	return false
}

// ClassNames lists every class the server knows: the built-in ones, then
// the operator's.
func (a *Access) ClassNames() []string {
	out := slices.Clone(BuiltinClasses)
	if a != nil {
		for _, c := range a.Classes {
			out = append(out, c.Name)
		}
	}
	return out
}

// AuthenticatedRule is the rule of the "authenticated" class.
func (a *Access) AuthenticatedRule() AccessRule {
	if a == nil || a.Authenticated == nil {
		return AccessRule{}
	}
	return *a.Authenticated
}

// Team creation policies (teams { create = ... }).
const (
	TeamCreateAnyone = "anyone"
	TeamCreateAdmins = "admins"
)

// TeamsPolicy are the admin controls over teams.
type TeamsPolicy struct {
	// Create is who may create teams by hand: "anyone" (default) or
	// "admins". Teams synced from an identity provider are created at login
	// either way.
	Create string `hcl:"create,optional"`
	// ListAll lets every user list every team (names and members); by
	// default users list only their own teams and admins list all.
	ListAll bool `hcl:"list_all,optional"`
}

// AdminsOnlyCreate reports whether only admins may create teams.
func (p *TeamsPolicy) AdminsOnlyCreate() bool { return p != nil && p.Create == TeamCreateAdmins }

// ListAllTeams reports whether every user may list every team.
func (p *TeamsPolicy) ListAllTeams() bool { return p != nil && p.ListAll }

func (a *Access) check(c *checker, n node) {
	if a == nil {
		return
	}
	if a.Authenticated != nil {
		a.Authenticated.check(c, n.block("authenticated", 0))
	}
	seen := map[string]bool{}
	for i, cl := range a.Classes {
		cn := n.block("class", i)
		switch {
		case !names.IsLabel(cl.Name):
			c.errorf(cn.rng, "Invalid access class name", "%q: class names are DNS labels (lowercase letters, digits and '-'), e.g. class \"internal\" { ... }.", cl.Name)
		case slices.Contains(BuiltinClasses, cl.Name):
			c.errorf(cn.rng, "Invalid access class name", "%q is a built-in class (public, authenticated, private); name yours differently.", cl.Name)
		case seen[cl.Name]:
			c.errorf(cn.rng, "Duplicate access class", "An access class named %q is already declared.", cl.Name)
		}
		seen[cl.Name] = true
		if len(cl.EmailDomains) == 0 && len(cl.Groups) == 0 {
			c.errorf(cn.rng, "Empty access class", "Class %q needs email_domains or groups (a class for every logged-in user is the built-in \"authenticated\").", cl.Name)
		}
		r := cl.Rule()
		r.check(c, cn)
		cl.EmailDomains = r.EmailDomains
	}
}

func (r *AccessRule) check(c *checker, n node) {
	for i, d := range r.EmailDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || strings.ContainsAny(d, "@/: ") || checkDomain(d) != "" {
			c.errorf(n.attr("email_domains"), "Invalid email_domains", "%q is not an email domain; expected e.g. \"example.com\" (without '@').", r.EmailDomains[i])
		}
		r.EmailDomains[i] = d
	}
	for _, g := range r.Groups {
		if strings.TrimSpace(g) == "" {
			c.errorf(n.attr("groups"), "Invalid groups", "Group names must not be empty.")
		}
	}
}

func (p *TeamsPolicy) check(c *checker, n node) {
	if p == nil {
		return
	}
	switch p.Create {
	case "":
		p.Create = TeamCreateAnyone
	case TeamCreateAnyone, TeamCreateAdmins:
	default:
		c.errorf(n.attr("create"), "Invalid create", "create must be \"anyone\" or \"admins\", not %q.", p.Create)
	}
}

// GroupsClaimName is the ID token claim this provider's groups are read
// from: GroupsClaim, else DefaultGroupsClaim when the provider syncs or
// checks groups, else "" (groups are not read).
func (p *OIDCProvider) GroupsClaimName() string {
	if p.GroupsClaim == "" && (p.SyncGroups || len(p.AllowedGroups) > 0) {
		return DefaultGroupsClaim
	}
	return p.GroupsClaim
}

// RequestScopes are the scopes a login through p asks for: Scopes, else
// DefaultOIDCScopes plus "groups" when the provider reads groups.
func (p *OIDCProvider) RequestScopes() []string {
	if len(p.Scopes) > 0 {
		return p.Scopes
	}
	s := slices.Clone(DefaultOIDCScopes)
	if p.GroupsClaimName() != "" {
		s = append(s, "groups")
	}
	return s
}
