package apphost

import (
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		t    Target
		want string
	}{
		{Target{Project: "shop"}, "shop"},
		{Target{Project: "shop", Environment: "production", Group: "default"}, "shop"},
		{Target{Project: "shop", Environment: "staging"}, "shop--staging"},
		{Target{Project: "shop", Group: "mr/27"}, "shop--mr--27"},
		{Target{Project: "shop", Environment: "staging", Group: "mr/27"}, "shop--mr--27"},
		{Target{Project: "shop", Group: "feature-x"}, "shop--feature-x"},
	} {
		if got := c.t.Label(); got != c.want {
			t.Errorf("%+v: label %q, want %q", c.t, got, c.want)
		}
		if err := c.t.Check(); err != nil {
			t.Errorf("%+v: %v", c.t, err)
		}
		a, ok := Parse(c.want)
		if !ok || a.Project != "shop" || a.Label() != c.want || a.Suffix != c.t.Suffix() {
			t.Errorf("Parse(%q) = %+v, %v", c.want, a, ok)
		}
	}
	if got := (Target{Project: "shop", Group: "mr/27"}).Host("apps.example.com"); got != "shop--mr--27.apps.example.com" {
		t.Errorf("host %q", got)
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, tg := range []Target{
		{Project: "shop", Group: "mr//27"},
		{Project: "shop", Group: "/mr"},
		{Project: "shop", Group: "mr/"},
		{Project: "shop", Group: "a--b"},   // would be the label of a/b
		{Project: "shop", Group: "mr/-27"}, // would make "mr---27"
		{Project: "shop", Group: "MR/27"},
		{Project: "shop", Group: "mr_27"},
		{Project: "shop", Environment: "Staging"},
		{Project: "shop", Environment: "9ine"},
		{Project: "shop", Environment: "a--b"},
		{Project: "a--b"},
		{Project: strings.Repeat("p", 50), Group: strings.Repeat("g", 12)}, // 64 characters
	} {
		if err := tg.Check(); err == nil {
			t.Errorf("%+v accepted", tg)
		}
	}
	if err := (Target{Project: strings.Repeat("p", 50), Group: strings.Repeat("g", 11)}).Check(); err != nil {
		t.Errorf("63 characters refused: %v", err)
	}
}

// TestCollisionFree: over many valid targets of several projects (including
// projects whose names are other projects' prefixes), equal labels come only
// from targets the server refuses to run together: a group named like an
// environment, or one group in two environments.
func TestCollisionFree(t *testing.T) {
	projects := []string{"a", "a-b", "ab", "b", "shop", "shop-mr"}
	envs := []string{"production", "staging", "mr", "b", "dev-1"}
	groups := []string{"default", "mr", "mr/27", "mr-27", "27", "b", "b/c", "b-c", "mr/27/x", "staging", "x/mr"}
	seen := map[string]Target{}
	for _, p := range projects {
		for _, e := range envs {
			for _, g := range groups {
				tg := Target{Project: p, Environment: e, Group: g}
				if err := tg.Check(); err != nil {
					t.Fatalf("%+v: %v", tg, err)
				}
				l := tg.Label()
				a, ok := Parse(l)
				if !ok || a.Project != p {
					t.Fatalf("label %q of %+v parses as %+v", l, tg, a)
				}
				prev, dup := seen[l]
				if !dup {
					seen[l] = tg
					continue
				}
				sameGroup := prev.Project == tg.Project && prev.GroupName() == tg.GroupName() && tg.GroupName() != DefaultGroup
				groupIsEnv := prev.Project == tg.Project && (isEnvGroupClash(prev, tg) || isEnvGroupClash(tg, prev))
				if !sameGroup && !groupIsEnv {
					t.Errorf("%+v and %+v share the label %q", prev, tg, l)
				}
			}
		}
	}
}

// isEnvGroupClash: a's default group in a non-default environment named
// like b's group.
func isEnvGroupClash(a, b Target) bool {
	return a.GroupName() == DefaultGroup && a.Env() != DefaultEnvironment && b.GroupName() == a.Env()
}

func TestParseRefuses(t *testing.T) {
	for _, l := range []string{"", "--x", "shop--", strings.Repeat("a", 64)} {
		if a, ok := Parse(l); ok {
			t.Errorf("Parse(%q) = %+v", l, a)
		}
	}
}
