package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/riseplatform/rise/core/api"
)

func TestCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, OK},
		{errors.New("boom"), Error},
		{&api.Error{Status: 401, Message: "token expired"}, NotAuthenticated},
		{&api.Error{Status: 403, Message: "no"}, PermissionDenied},
		{fmt.Errorf("show: %w", &api.Error{Status: 404, Message: "not found"}), NotFound},
		{&api.Error{Status: 409, Message: "exists"}, Error},
		{&api.Error{Status: 504}, TimedOut},
		{New(BuildFailed, "build failed"), BuildFailed},
		{fmt.Errorf("x: %w", Wrap(PushFailed, errors.New("push"))), PushFailed},
		{context.Canceled, Interrupted},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), TimedOut},
		{errors.New(`unknown command "foo" for "rise"`), Usage},
		{errors.New(`accepts 1 arg(s), received 2`), Usage},
		{Usagef("bad"), Usage},
		{NotLoggedIn("not logged in"), NotAuthenticated},
	}
	for _, c := range cases {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestMessageSeed(t *testing.T) {
	// The seed's exact line, whether or not the server ends its message with a full stop.
	want := "Team 'devopsy' does not exist or you do not have permission to create projects for it. Did you mean 'devops'?"
	for _, msg := range []string{
		"Team 'devopsy' does not exist or you do not have permission to create projects for it.",
		"Team 'devopsy' does not exist or you do not have permission to create projects for it",
	} {
		err := &api.Error{Status: 400, Message: msg, Suggestions: []string{"devops"}}
		if got := Message(err); got != want {
			t.Errorf("Message = %q\nwant      %q", got, want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"a"}, "Did you mean 'a'?"},
		{[]string{"a", "b"}, "Did you mean 'a' or 'b'?"},
		{[]string{"a", "b", "c"}, "Did you mean 'a', 'b' or 'c'?"},
	} {
		if got := DidYouMean(c.in); got != c.want {
			t.Errorf("DidYouMean(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestUnauthorizedSaysLogin(t *testing.T) {
	got := Message(&api.Error{Status: 401, Message: "token expired."})
	if got != "token expired; run `rise login`" {
		t.Errorf("got %q", got)
	}
	j := ToJSON(&api.Error{Status: 404, Message: "project 'x' not found", Suggestions: []string{"y"}})
	if j.ExitCode != NotFound || j.Suggestions[0] != "y" || j.Error != "project 'x' not found" {
		t.Errorf("ToJSON = %+v", j)
	}
}
