package auth

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/server/audit"
)

// Groups from the identity provider (oidc blocks with groups_claim,
// sync_groups, group_prefix, allowed_groups):
//
//   - the groups claim of the ID token is read at every login and stored
//     with the user (users.idp_groups): access classes by group match it;
//   - allowed_groups refuses a login from anyone in none of them with
//     "platform access denied" (403), before any account is created;
//   - sync_groups makes the user's memberships in the provider's managed
//     teams follow the claim (store.SyncTeams): a group "<prefix><team>"
//     is team "<team>"; groups without the prefix, or whose name is not a
//     valid team name, are ignored.

// maxGroups bounds the groups read from one token.
const maxGroups = 500

// platformDenied refuses a login that allowed_groups keeps out.
type platformDenied struct{ email, provider string }

func (e *platformDenied) Error() string {
	return fmt.Sprintf("platform access denied: %s is not in any group allowed to use this rise server (identity provider %q); ask your rise administrator for access", e.email, e.provider)
}

// groups reads the provider's groups claim: a list of strings, or one
// string. nil when the provider reads no groups.
func (p *provider) groups(idt *oidc.IDToken) ([]string, error) {
	claim := p.cfg.GroupsClaimName()
	if claim == "" {
		return nil, nil
	}
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: id_token claims: %v", ErrInvalidCredentials, err)
	}
	var out []string
	switch v := all[claim].(type) {
	case nil:
	case string:
		out = []string{v}
	case []any:
		for _, g := range v {
			if s, ok := g.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	default:
		return nil, fmt.Errorf("%w: id_token claim %q is not a list of group names", ErrInvalidCredentials, claim)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxGroups {
		return nil, fmt.Errorf("%w: id_token claim %q lists %d groups (at most %d)", ErrInvalidCredentials, claim, len(out), maxGroups)
	}
	return out, nil
}

// checkAllowedGroups refuses a login when the provider limits rise to
// some groups and the user is in none of them.
func (s *Service) checkAllowedGroups(r *http.Request, p *provider, email string, groups []string) error {
	allowed := p.cfg.AllowedGroups
	if len(allowed) == 0 || slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(allowed, g) }) {
		return nil
	}
	s.log.Warn("platform access denied: not in an allowed group", "email", email, "provider", p.cfg.Name, "groups", groups)
	s.auditLoginFailed(r, http.StatusForbidden, "")
	return &platformDenied{email: email, provider: p.cfg.Name}
}

// applyGroups stores the login's groups with the user and, with
// sync_groups, makes their teams follow them.
func (s *Service) applyGroups(r *http.Request, p *provider, u *userInfo, groups []string) error {
	if p.cfg.GroupsClaimName() == "" {
		return nil
	}
	if err := s.users.setGroups(r.Context(), u.ID, groups); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	u.Groups = groups
	if !p.cfg.SyncGroups {
		return nil
	}
	teams := teamsOf(groups, p.cfg.GroupPrefix)
	res, err := s.users.syncTeams(r.Context(), u.ID, p.cfg.Name, teams)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if len(res.Skipped) > 0 {
		s.log.Warn("groups not synced: a team with that name exists and is not managed by this provider",
			"user", u.Name, "provider", p.cfg.Name, "teams", res.Skipped)
	}
	if res.Changed() {
		s.log.Info("teams synced from the identity provider", "user", u.Name, "provider", p.cfg.Name,
			"created", res.Created, "joined", res.Joined, "left", res.Left)
		s.audit(r, audit.Event{Action: audit.ActionTeamsSynced, Actor: "user:" + u.Name, Status: http.StatusOK,
			Details: map[string]any{"provider": p.cfg.Name, "created": res.Created, "joined": res.Joined, "left": res.Left}})
	}
	return nil
}

// teamsOf maps groups to team names: those starting with prefix, without
// it, lower case, that are valid team names.
func teamsOf(groups []string, prefix string) []string {
	var out []string
	for _, g := range groups {
		name, ok := strings.CutPrefix(g, prefix)
		name = strings.ToLower(name)
		if ok && names.ValidateTeam(name) == nil && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
