// Package agents keeps the live agents of a contact center: who they are
// (name, team, SIP destination, queues), which of six states each is in,
// which agent a call or a contact gets (longest-idle reservation, round robin,
// first to answer a prompt), and a bounded event stream per agent for the
// agent UI. It also gives the predictive pacer (dialer/predictive) the counts
// and "expected free at" estimates it needs.
//
// The Roster is driven by the caller's clock: every method that changes or
// reads time-dependent state takes now, and Tick(now) applies what falls due
// (wrap-ups ending, reservations and prompts expiring). Nothing runs in the
// background, so a simulation can run 30 days in seconds and tests never sleep.
// Methods apply due expirations themselves before acting, so calling Tick is
// only needed to get the state-change events on time.
package agents

import (
	"errors"
	"fmt"
	"strings"
)

// Agent is a person who takes calls.
type Agent struct {
	// ID identifies the agent (stable, unique in a Roster).
	ID string
	// Name is shown in UIs and reports.
	Name string
	// Team groups agents for reports and supervisors.
	Team string
	// Destination is where calls are bridged to: a SIP URI or driver endpoint.
	Destination string
	// Queues lists the queues (cadence queues) the agent takes calls from.
	Queues []string
}

// Validate reports the first invalid field of a.
func (a Agent) Validate() error {
	switch {
	case strings.TrimSpace(a.ID) == "":
		return errors.New("id: must not be empty")
	case strings.TrimSpace(a.Name) == "":
		return errors.New("name: must not be empty")
	case strings.TrimSpace(a.Destination) == "":
		return errors.New("destination: must not be empty")
	}
	for i, q := range a.Queues {
		if strings.TrimSpace(q) == "" {
			return fmt.Errorf("queues[%d]: must not be empty", i)
		}
	}
	return nil
}

// InQueue reports whether the agent takes calls from queue; the empty queue
// matches every agent.
func (a Agent) InQueue(queue string) bool {
	if queue == "" {
		return true
	}
	for _, q := range a.Queues {
		if q == queue {
			return true
		}
	}
	return false
}

func (a Agent) clone() Agent {
	a.Queues = append([]string(nil), a.Queues...)
	return a
}

// State is where an agent is in its working cycle.
type State uint8

// The six agent states. The zero value is LoggedOut.
const (
	LoggedOut State = iota // not working; gets nothing
	Available              // idle and ready for a call
	Reserved               // held for one call (being dialed, or a human is being bridged)
	OnCall                 // talking to a contact
	WrapUp                 // after a call, writing notes; Available again after the wrap-up timeout
	Paused                 // logged in but taking no calls (break, training)
	numStates
)

var stateNames = [numStates]string{"logged_out", "available", "reserved", "on_call", "wrap_up", "paused"}

// States lists every state in order.
func States() []State { return []State{LoggedOut, Available, Reserved, OnCall, WrapUp, Paused} }

// String returns the API name of s ("on_call").
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState reads an API state name.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("state: unknown %q (want one of %s)", name, strings.Join(stateNames[:], ", "))
}

// LoggedIn reports whether s counts as logged in (every state but LoggedOut).
func (s State) LoggedIn() bool { return s != LoggedOut && s < numStates }

// Working reports whether s is paid working time for occupancy: logged in
// and not paused.
func (s State) Working() bool { return s.LoggedIn() && s != Paused }

// transitions is the legal state table: transitions[from][to].
//
//	from \ to    logged_out available reserved on_call wrap_up paused
//	logged_out       -          x         -        -       -       -     Login
//	available        x          -         x        -       -       x     Logout, Reserve/Accept, Pause
//	reserved         -          x         -        x       -       -     Release (call failed, reservation expired), Connect
//	on_call          -          -         -        -       x       -     Hangup
//	wrap_up          x          x         -        -       -       x     Logout, Available/timeout, Pause
//	paused           x          x         -        -       -       -     Logout, Resume/Available
//
// A reserved or on-call agent cannot log out or pause: the call it holds must
// end first (Release or Hangup), so no call is ever left without its agent.
var transitions = [numStates][numStates]bool{
	LoggedOut: {Available: true},
	Available: {LoggedOut: true, Reserved: true, Paused: true},
	Reserved:  {Available: true, OnCall: true},
	OnCall:    {WrapUp: true},
	WrapUp:    {LoggedOut: true, Available: true, Paused: true},
	Paused:    {LoggedOut: true, Available: true},
}

// CanTransition reports whether from → to is in the transition table.
func CanTransition(from, to State) bool {
	if from >= numStates || to >= numStates {
		return false
	}
	return transitions[from][to]
}

// TransitionError is an illegal state change; it names both states.
type TransitionError struct {
	AgentID  string
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("agent %s: illegal transition %s → %s", e.AgentID, e.From, e.To)
}

// Errors the Roster returns (wrapped with the agent, queue or prompt).
var (
	ErrNoAgent       = errors.New("no agent available")
	ErrUnknownAgent  = errors.New("unknown agent")
	ErrDuplicate     = errors.New("agent already exists")
	ErrUnknownPrompt = errors.New("unknown prompt")
	ErrAlreadyTaken  = errors.New("prompt already taken by another agent")
	ErrPromptExpired = errors.New("prompt expired")
	ErrNotOffered    = errors.New("prompt was not offered to this agent")
	ErrAgentBusy     = errors.New("agent is no longer available")
)
