package names

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		want string // "" = valid; else the exact error message
	}{
		{"my-app", ""},
		{"a", ""},
		{"secret-app2", ""},
		{"a-b-c", ""},
		{strings.Repeat("a", 63), ""},
		{"a--b", `invalid project name "a--b": must not contain "--" (it separates a project from its group or environment in app hosts: <project>--<group>.<domain>) (try "a-b")`},
		{"", "project name must not be empty"},
		{strings.Repeat("a", 64), `invalid project name "` + strings.Repeat("a", 64) + `": is 64 characters long; the maximum is 63 (try "` + strings.Repeat("a", 63) + `")`},
		{"My-App", `invalid project name "My-App": must be lowercase (try "my-app")`},
		{"my_app", `invalid project name "my_app": contains '_' at position 3; only lowercase letters, digits and '-' are allowed (try "my-app")`},
		{"my.app", `invalid project name "my.app": contains '.' at position 3; only lowercase letters, digits and '-' are allowed (try "my-app")`},
		{"café", `invalid project name "café": contains 'é' at position 4; only lowercase letters, digits and '-' are allowed (try "caf")`},
		{"1web", `invalid project name "1web": must start with a letter (try "web")`},
		{"-web", `invalid project name "-web": must start with a letter (try "web")`},
		{"web-", `invalid project name "web-": must end with a letter or digit (try "web")`},
		{"123", `invalid project name "123": must start with a letter`},
		{"api", `invalid project name "api": is reserved`},
		{"registry", `invalid project name "registry": is reserved`},
		{"www", `invalid project name "www": is reserved`},
		{"my app", `invalid project name "my app": contains ' ' at position 3; only lowercase letters, digits and '-' are allowed (try "my-app")`},
	}
	for _, tt := range tests {
		err := ValidateProject(tt.name)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidateProject(%q) = %v, want nil", tt.name, err)
		case tt.want != "" && err == nil:
			t.Errorf("ValidateProject(%q) = nil, want %q", tt.name, tt.want)
		case tt.want != "" && err.Error() != tt.want:
			t.Errorf("ValidateProject(%q)\n got %s\nwant %s", tt.name, err, tt.want)
		}
		var ne *Error
		if err != nil && (!errors.As(err, &ne) || ne.Name != tt.name || ne.Kind != Project) {
			t.Errorf("ValidateProject(%q) error is not a *names.Error for the name: %#v", tt.name, err)
		}
	}
}

func TestValidateTeamKind(t *testing.T) {
	err := ValidateTeam("Dev_Ops")
	if err == nil || err.Error() != `invalid team name "Dev_Ops": must be lowercase (try "dev-ops")` {
		t.Fatalf("ValidateTeam = %v", err)
	}
	if err := ValidateTeam("devops"); err != nil {
		t.Fatal(err)
	}
}

func TestReserved(t *testing.T) {
	r := Reserved()
	for _, n := range []string{"api", "www", "admin", "rise", "registry", "auth", "login"} {
		if !slices.Contains(r, n) || !IsReserved(n) {
			t.Errorf("%q should be reserved", n)
		}
	}
	if !slices.IsSorted(r) {
		t.Error("Reserved() not sorted")
	}
	if IsReserved("my-app") {
		t.Error("my-app reserved")
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"My App":                       "my-app",
		"my_app":                       "my-app",
		"  --Hello__World--":           "hello-world",
		"42-things":                    "things",
		"!!!":                          "",
		"":                             "",
		"a" + strings.Repeat("-b", 40): strings.TrimRight(("a" + strings.Repeat("-b", 40))[:63], "-"),
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	teams := []string{"devops", "design", "dev", "platform", "data-science"}
	tests := []struct {
		in   string
		cand []string
		want []string
	}{
		{"devopsy", teams, []string{"devops"}},
		{"dveops", teams, []string{"devops"}},     // transposition = 1 edit
		{"DevOps", teams, []string{"devops"}},     // case-insensitive
		{"deb", teams, []string{"dev"}},           // short input: distance 1 only
		{"platfrom", teams, []string{"platform"}}, // transposition
		{"plat", teams, []string{"platform"}},     // prefix
		{"data-sceince", teams, []string{"data-science"}},
		{"kubernetes", teams, nil},
		{"", teams, nil},
		{"x", nil, nil},
		{"ab", []string{"ac", "ab", "abc", "ad", "ae"}, []string{"ab", "ac", "abc"}}, // best first, at most 3, stable
		{"app", []string{"api", "app", "app"}, []string{"app", "api"}},               // duplicates once
	}
	for _, tt := range tests {
		if got := Suggest(tt.in, tt.cand); !slices.Equal(got, tt.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"ca", "ac", 1},
		{"abcdef", "abcfed", 2}, {"héllo", "hello", 1}, {"ca", "abc", 3},
	} {
		if got := distance(tt.a, tt.b, 10); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := distance(tt.a, tt.b, 0); got != min(tt.want, 1) {
			t.Errorf("distance(%q, %q, limit 0) = %d", tt.a, tt.b, got)
		}
	}
}

// refDistance is the textbook full-matrix optimal string alignment distance.
func refDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

var validRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"my-app", "My_App", "", "1", "a-", "api", "café", strings.Repeat("x", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateProject(s)
		if ok := validRE.MatchString(s) && !IsReserved(s); ok != (err == nil) {
			t.Fatalf("ValidateProject(%q) = %v, regexp says valid=%v", s, err, ok)
		}
		var ne *Error
		if err != nil && errors.As(err, &ne) && ne.Suggestion != "" && ValidateProject(ne.Suggestion) != nil {
			t.Fatalf("suggestion %q for %q is itself invalid", ne.Suggestion, s)
		}
		if san := Sanitize(s); san != "" && !validRE.MatchString(san) {
			t.Fatalf("Sanitize(%q) = %q, not a valid label", s, san)
		}
	})
}

func FuzzDistance(f *testing.F) {
	f.Add("devops", "devopsy", 2)
	f.Add("ca", "abc", 1)
	f.Fuzz(func(t *testing.T, a, b string, limit int) {
		if len(a) > 64 || len(b) > 64 || limit < 0 || limit > 70 {
			t.Skip()
		}
		want := min(refDistance(a, b), limit+1)
		if got := distance(a, b, limit); got != want {
			t.Fatalf("distance(%q, %q, %d) = %d, want %d", a, b, limit, got, want)
		}
		for _, s := range Suggest(a, []string{b, "x"}) {
			if s != b && s != "x" {
				t.Fatalf("Suggest returned %q, not a candidate", s)
			}
		}
	})
}

func TestIsLabel(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	for _, s := range []string{"", "a", "0", "default", "blue-green", "-a", "a-", "A", "a_b", "a.b", strings.Repeat("a", 63), strings.Repeat("a", 64), "1abc"} {
		if got, want := IsLabel(s), re.MatchString(s); got != want {
			t.Errorf("IsLabel(%q) = %v, want %v", s, got, want)
		}
	}
}
