package agents

import (
	"fmt"
	"sync"
	"time"
)

// EventKind says what an Event is about.
type EventKind string

// Event kinds.
const (
	// EventState: the agent's state changed (From → To).
	EventState EventKind = "state"
	// EventPrompt: a first-to-answer prompt is offered to the agent (Prompt).
	EventPrompt EventKind = "prompt"
	// EventPromptClosed: a prompt the agent was offered was taken by someone
	// else or expired (Prompt; Text says which).
	EventPromptClosed EventKind = "prompt_closed"
	// EventConnecting: the agent is being bridged to a contact (Contact,
	// Script, CallID) — "connecting you to {contact}, script: …".
	EventConnecting EventKind = "connecting"
)

// Event is one item of an agent's event stream: what the agent UI needs.
type Event struct {
	Kind    EventKind
	AgentID string
	At      time.Time
	// From and To are set for EventState.
	From, To State
	// Prompt is set for EventPrompt and EventPromptClosed.
	Prompt *Prompt
	// CallID, Contact and Script are set for EventConnecting.
	CallID, Contact, Script string
	// Text is a human-readable line for the UI or a log.
	Text string
	// Dropped is how many events this subscription had dropped before this
	// one (see Subscribe); a UI that sees it grow should re-read the state.
	Dropped uint64
}

// subscription is one Subscribe call. Sends happen under the Roster's mutex,
// which also guards closed, so no send can race with close.
type subscription struct {
	ch      chan Event
	dropped uint64
	closed  bool
}

// send delivers e without ever blocking: when the buffer is full the oldest
// buffered event is discarded to make room. Only the Roster sends, under its
// mutex, so after one discard there is room (readers only take events out).
// It reports whether an event was dropped.
func (s *subscription) send(e Event) bool {
	if s.closed {
		return false
	}
	e.Dropped = s.dropped
	select {
	case s.ch <- e:
		return false
	default:
	}
	dropped := false
	select {
	case <-s.ch:
		s.dropped++
		e.Dropped = s.dropped
		dropped = true
	default: // a reader emptied it meanwhile
	}
	select {
	case s.ch <- e:
	default: // unreachable: only we send, and there is room now
		s.dropped++
		dropped = true
	}
	return dropped
}

func (s *subscription) close() {
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}

// Subscribe streams an agent's events (state changes, prompts, connecting
// notices) from now on. The channel has a bounded buffer
// (Options.EventBuffer) and the Roster never blocks on it: when a reader
// falls behind, the oldest buffered event is dropped and counted (in the
// next event's Dropped field, and in DroppedEvents), so a slow or dead agent
// UI cannot stall call handling. cancel closes the channel; it is idempotent
// and safe to call from any goroutine. Removing the agent also closes it.
func (r *Roster) Subscribe(agentID string) (<-chan Event, func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := r.get(agentID)
	if err != nil {
		return nil, nil, fmt.Errorf("subscribe: %w", err)
	}
	r.subSeq++
	id := r.subSeq
	s := &subscription{ch: make(chan Event, r.opts.EventBuffer)}
	rec.subs[id] = s
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			s.close()
			if cur, ok := r.agents[agentID]; ok {
				delete(cur.subs, id)
			}
		})
	}
	return s.ch, cancel, nil
}

// DroppedEvents returns how many events were dropped over all subscriptions
// because their readers fell behind.
func (r *Roster) DroppedEvents() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// emit sends e to every subscriber of rec. Caller holds r.mu.
func (r *Roster) emit(rec *agentRec, e Event) {
	e.AgentID = rec.a.ID
	for _, s := range rec.subs {
		if s.send(e) {
			r.dropped++
		}
	}
}
