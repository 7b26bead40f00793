package deploy

import (
	"errors"
	"testing"
	"time"
)

func TestTransitionTable(t *testing.T) {
	ok := [][2]State{
		{Pending, Building}, {Building, Pushing}, {Pushing, Pushed}, {Pushed, Deploying},
		{Deploying, Healthy}, {Healthy, Unhealthy}, {Unhealthy, Healthy},
		{Pending, Cancelling}, {Cancelling, Cancelled}, {Healthy, Terminating},
		{Terminating, Stopped}, {Terminating, Superseded}, {Terminating, Expired},
		{Deploying, Failed}, {Pending, Pushed},
	}
	for _, c := range ok {
		if err := Transition(c[0], c[1]); err != nil {
			t.Errorf("%s → %s: %v", c[0], c[1], err)
		}
	}
	bad := [][2]State{
		{Pending, Healthy}, {Healthy, Pending}, {Failed, Pending}, {Stopped, Healthy},
		{Healthy, Healthy}, {Cancelled, Cancelling}, {Healthy, Superseded}, {Healthy, Cancelling},
	}
	for _, c := range bad {
		err := Transition(c[0], c[1])
		var te *TransitionError
		if !errors.As(err, &te) {
			t.Errorf("%s → %s: want TransitionError, got %v", c[0], c[1], err)
		}
	}
	if err := Transition("Nope", Healthy); err == nil {
		t.Error("unknown from state accepted")
	}
	if got := Transition(Failed, Pending).Error(); got != "deployment is already Failed and cannot become Pending" {
		t.Errorf("message: %q", got)
	}
}

func TestTerminal(t *testing.T) {
	terminal := map[State]bool{Cancelled: true, Stopped: true, Superseded: true, Expired: true, Failed: true}
	for _, s := range All {
		if s.Terminal() != terminal[s] {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
		if p, err := Parse(string(s)); err != nil || p != s {
			t.Errorf("Parse(%s) = %v, %v", s, p, err)
		}
	}
	// Every non-terminal state can fail: nothing gets stuck.
	for _, s := range All {
		if !s.Terminal() {
			if err := Transition(s, Failed); err != nil {
				t.Errorf("%s cannot fail: %v", s, err)
			}
		}
	}
	if _, err := Parse("healthy"); err == nil {
		t.Error("Parse is case-sensitive")
	}
}

func TestIDs(t *testing.T) {
	at := time.Date(2026, 11, 23, 14, 25, 1, 0, time.FixedZone("x", 3600))
	taken := map[string]bool{}
	exists := func(id string) (bool, error) { return taken[id], nil }
	id, err := NewID(at, exists)
	if err != nil || id != "20261123-132501" {
		t.Fatalf("NewID = %q, %v (want UTC)", id, err)
	}
	taken[id] = true
	id2, _ := NewID(at, exists)
	taken[id2] = true
	id3, _ := NewID(at, exists)
	if id2 != "20261123-132501-2" || id3 != "20261123-132501-3" {
		t.Fatalf("collision suffixes: %s %s", id2, id3)
	}
	if NextID(id) != id2 || NextID(id2) != id3 {
		t.Fatalf("NextID: %s %s", NextID(id), NextID(id2))
	}
	for _, s := range []string{id, id2, id3} {
		if !ValidID(s) {
			t.Errorf("ValidID(%s) = false", s)
		}
	}
	for _, s := range []string{"", "2026-11-23", "20261123-1325", "20261123-132501-", "../x"} {
		if ValidID(s) {
			t.Errorf("ValidID(%q) = true", s)
		}
	}
	tm, err := IDTime(id3)
	if err != nil || !tm.Equal(at.Truncate(time.Second)) {
		t.Errorf("IDTime = %v, %v", tm, err)
	}
	if _, err := NewID(at, func(string) (bool, error) { return false, errors.New("db down") }); err == nil {
		t.Error("lookup error swallowed")
	}
}
