// Package deploy is the deployment state machine and deployment ids: the one
// list of states, used by the API types (core/api), the server's controller,
// handlers and SQL (server/deploy) and the CLI.
//
//	Pending → Building → Pushing → Pushed → Deploying → Healthy ⇄ Unhealthy
//	(any non-terminal before Deploying) → Cancelling → Cancelled
//	Healthy/Unhealthy/Deploying → Terminating → Stopped | Superseded | Expired
//	(any non-terminal) → Failed
package deploy

import (
	"fmt"
	"slices"
)

// State is a deployment state. Its string values are the API's.
type State string

const (
	Pending     State = "Pending"
	Building    State = "Building"
	Pushing     State = "Pushing"
	Pushed      State = "Pushed"
	Deploying   State = "Deploying"
	Healthy     State = "Healthy"
	Unhealthy   State = "Unhealthy"
	Cancelling  State = "Cancelling"
	Cancelled   State = "Cancelled"
	Terminating State = "Terminating"
	Stopped     State = "Stopped"
	Superseded  State = "Superseded"
	Expired     State = "Expired"
	Failed      State = "Failed"
)

// All lists every state in lifecycle order.
var All = []State{Pending, Building, Pushing, Pushed, Deploying, Healthy, Unhealthy,
	Cancelling, Cancelled, Terminating, Stopped, Superseded, Expired, Failed}

// transitions is the one table of allowed changes.
var transitions = map[State][]State{
	Pending:     {Building, Pushing, Pushed, Cancelling, Failed},
	Building:    {Pushing, Pushed, Cancelling, Failed},
	Pushing:     {Pushed, Cancelling, Failed},
	Pushed:      {Deploying, Cancelling, Failed},
	Deploying:   {Healthy, Unhealthy, Cancelling, Terminating, Failed},
	Healthy:     {Unhealthy, Terminating, Failed},
	Unhealthy:   {Healthy, Terminating, Failed},
	Cancelling:  {Cancelled, Failed},
	Terminating: {Stopped, Superseded, Expired, Failed},
}

// Parse returns the State named s.
func Parse(s string) (State, error) {
	for _, st := range All {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown deployment state %q", s)
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(All, s) }

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return s.Valid() && len(transitions[s]) == 0 }

// Active reports whether a deployment in s holds (or is about to hold) its
// group's serving slot: it has reached the runtime and is not yet stopped.
func (s State) Active() bool {
	return s == Healthy || s == Unhealthy
}

// Running reports whether the runtime may have resources for s (the
// controller must Stop them before a terminal state).
func (s State) Running() bool {
	switch s {
	case Deploying, Healthy, Unhealthy, Terminating, Cancelling:
		return true
	}
	return false
}

// BeforePushed reports whether s is a CLI-driven state (build/push not done).
func (s State) BeforePushed() bool {
	return s == Pending || s == Building || s == Pushing
}

// Next lists the states reachable from s in one step.
func (s State) Next() []State { return slices.Clone(transitions[s]) }

// TransitionError is an invalid transition; the API answers it with 409.
type TransitionError struct {
	From, To State
}

func (e *TransitionError) Error() string {
	if e.From.Terminal() {
		return fmt.Sprintf("deployment is already %s and cannot become %s", e.From, e.To)
	}
	return fmt.Sprintf("deployment is %s and cannot become %s", e.From, e.To)
}

// Transition checks that from → to is allowed. A no-op (from == to) is not a
// transition and is rejected too, so callers notice lost races.
func Transition(from, to State) error {
	if !from.Valid() {
		return fmt.Errorf("unknown deployment state %q", from)
	}
	if !to.Valid() {
		return fmt.Errorf("unknown deployment state %q", to)
	}
	if slices.Contains(transitions[from], to) {
		return nil
	}
	return &TransitionError{From: from, To: to}
}
