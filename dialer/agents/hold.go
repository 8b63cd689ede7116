package agents

import (
	"fmt"
	"time"
)

// This file holds the Roster operations of the Gate and the QueueConnector
// that must be atomic against a reservation of one particular call.
//
// The Roster's public methods act on an agent, not on a reservation: a
// Release after the call's own reservation expired (ReservationTimeout) and
// the agent was reserved again would free the other call's agent, and a
// Connect would steal it. A hold names the reservation by the time it began
// (the agent's Since when it entered Reserved); the guarded operations here
// act only when the agent is still in that very reservation.

// hold is one call's reservation of one agent.
type hold struct {
	agent Agent
	at    time.Time // when the agent entered Reserved for this call
}

// reserveHold reserves the contact's owner when available, else the
// longest-idle available agent of queue. A reservation made with now starts
// at now (setState records it as Since).
func (r *Roster) reserveHold(queue, owner string, now time.Time) (hold, error) {
	if owner != "" {
		if a, err := r.ReserveAgent(owner, queue, now); err == nil {
			return hold{agent: a, at: now}, nil
		}
	}
	a, err := r.Reserve(queue, now)
	if err != nil {
		return hold{}, err
	}
	return hold{agent: a, at: now}, nil
}

// heldBy reports whether rec is still in the reservation h. Caller holds r.mu.
func heldBy(rec *agentRec, h hold) bool {
	return rec.state == Reserved && rec.since.Equal(h.at)
}

// releaseHold returns the agent of h to available if it is still held by h;
// false when the reservation had already ended (expired, connected, released).
func (r *Roster) releaseHold(h hold, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(h.agent.ID)
	if err != nil || !heldBy(rec, h) {
		return false
	}
	return r.setState(rec, Available, now) == nil
}

// connectHold is Connect for the reservation h only: reserved → on_call,
// with the Connecting event first. It fails when the reservation is gone.
// It returns the agent as it is now (Update may have changed its
// destination since the reservation).
func (r *Roster) connectHold(h hold, info ConnectInfo, now time.Time) (Agent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(h.agent.ID)
	if err != nil {
		return Agent{}, err
	}
	if !heldBy(rec, h) {
		return Agent{}, fmt.Errorf("agent %s: %w: the reservation of this call ended (is %s)", h.agent.ID, ErrAgentBusy, rec.state)
	}
	// Same as Connect, under the same lock as the check.
	r.emit(rec, Event{Kind: EventConnecting, At: now, CallID: info.CallID, Contact: info.Contact, Script: info.Script,
		Text: fmt.Sprintf("connecting you to %s, script: %s", info.Contact, info.Script)})
	if err := r.setState(rec, OnCall, now); err != nil {
		return Agent{}, err
	}
	rec.callSince = now
	rec.deadline = time.Time{}
	return rec.a.clone(), nil
}

// onCallSince reports whether the agent is on the call that connected at at.
func (r *Roster) onCallSince(agentID string, at, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	return err == nil && rec.state == OnCall && rec.callSince.Equal(at)
}

// hangupCall ends the agent's call that connected at at (wrap-up follows).
// An agent leaves on_call only through Hangup, and only the connector that
// connected the call hangs it up, so the check and the Hangup need not share
// one critical section.
func (r *Roster) hangupCall(agentID string, at, now time.Time) error {
	if !r.onCallSince(agentID, at, now) {
		return nil
	}
	return r.Hangup(agentID, now)
}

// abortCall undoes the Connect of a call whose bridge could not be made:
// on_call → wrap_up → available at once, through legal transitions, without
// counting a call of zero length in the mean handle time (the pacer reads it).
func (r *Roster) abortCall(agentID string, at, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	if err != nil {
		return err
	}
	if rec.state != OnCall || !rec.callSince.Equal(at) {
		return nil
	}
	if err := r.setState(rec, WrapUp, now); err != nil {
		return err
	}
	return r.setState(rec, Available, now)
}

// promptFor is Prompt offering only the contact's owner when the owner is
// available (preview dialing prefers the owner), else every available agent
// of queue. ErrNoAgent when nobody can be offered the call.
func (r *Roster) promptFor(queue, owner string, info PromptInfo, now time.Time) (*Prompt, error) {
	ttl := info.TTL
	if ttl < 0 {
		return nil, fmt.Errorf("prompt: ttl: must be > 0, got %v", ttl)
	}
	if ttl == 0 {
		ttl = r.opts.PromptTTL
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	var recs []*agentRec
	if rec, ok := r.agents[owner]; ok && owner != "" && rec.state == Available {
		recs = []*agentRec{rec}
	} else {
		recs = r.matching(func(rec *agentRec) bool { return rec.state == Available && rec.a.InQueue(queue) })
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("prompt in queue %q: %w", queue, ErrNoAgent)
	}
	// Same as Prompt from here.
	r.promptSeq++
	p := &prompt{
		p:       Prompt{ID: fmt.Sprintf("p-%d", r.promptSeq), Queue: queue, Info: info, Expires: now.Add(ttl)},
		offered: make(map[string]bool, len(recs)),
	}
	for _, rec := range recs {
		p.p.Offered = append(p.p.Offered, rec.a.ID)
		p.offered[rec.a.ID] = true
	}
	r.prompts[p.p.ID] = p
	for _, rec := range recs {
		r.emit(rec, Event{Kind: EventPrompt, At: now, Prompt: p.p.clone(),
			Text: fmt.Sprintf("offered %s, script: %s", info.Contact, info.Script)})
	}
	return p.p.clone(), nil
}

// settlePrompt reads a reserving prompt as of now: when an agent accepted
// it and is still reserved, that reservation; otherwise, with withdraw, it
// closes the prompt so that no later accept can reserve an agent for a call
// that will not be dialed. Expiry is applied first, so an accept that comes
// after a settle at or past the deadline always fails.
func (r *Roster) settlePrompt(promptID string, now time.Time, withdraw bool) (hold, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	p, ok := r.prompts[promptID]
	if !ok {
		return hold{}, false
	}
	if p.winner != "" {
		rec, ok := r.agents[p.winner]
		if !ok || rec.state != Reserved || rec.queue != p.p.Queue {
			return hold{}, false
		}
		return hold{agent: rec.a.clone(), at: rec.since}, true
	}
	if withdraw && !p.closed {
		r.closePrompt(p, now, "withdrawn")
	}
	return hold{}, false
}
