package config

import (
	"slices"
	"testing"
)

func TestAccessRuleMatches(t *testing.T) {
	r := AccessRule{EmailDomains: []string{"example.com"}, Groups: []string{"staff"}}
	for _, tc := range []struct {
		email  string
		groups []string
		want   bool
	}{
		{"ann@example.com", nil, true},
		{"Ann@EXAMPLE.com", nil, true},
		{"ann@sub.example.com", nil, false}, // exact domains only
		{"ann@example.com.evil.test", nil, false},
		{"bob@other.org", []string{"staff"}, true},
		{"bob@other.org", []string{"Staff", "staffers"}, false}, // groups match exactly
		{"", nil, false},
	} {
		if got := r.Matches(tc.email, tc.groups); got != tc.want {
			t.Errorf("Matches(%q, %v) = %v, want %v", tc.email, tc.groups, got, tc.want)
		}
	}
	if !(AccessRule{}).Matches("anyone@anywhere.test", nil) {
		t.Error("an empty rule must match every logged-in user")
	}
	var a *Access
	if got := a.ClassNames(); !slices.Equal(got, BuiltinClasses) {
		t.Errorf("ClassNames without an access block = %v", got)
	}
	p := &OIDCProvider{SyncGroups: true}
	if p.GroupsClaimName() != "groups" || !slices.Contains(p.RequestScopes(), "groups") {
		t.Errorf("sync_groups without a claim: %q %v", p.GroupsClaimName(), p.RequestScopes())
	}
	if q := (&OIDCProvider{}); q.GroupsClaimName() != "" || slices.Contains(q.RequestScopes(), "groups") {
		t.Errorf("a provider without groups reads %q, asks %v", q.GroupsClaimName(), q.RequestScopes())
	}
}
