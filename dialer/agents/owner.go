package agents

import (
	"fmt"
	"time"
)

// Contact ownership (issue 8 §2). The engine stores the owner on the contact;
// the Roster only chooses one:
//   - "use existing contact owner" wins when the contact already has an owner
//     the roster knows (ExistingOwner);
//   - round_robin: AssignRoundRobin picks the next logged-in agent of the
//     cadence's queue, in a rotation that persists per queue;
//   - first_to_answer: Prompt offers the contact to every available agent of
//     the queue and the first Accept becomes the owner.

// ExistingOwner returns the contact's current owner when the roster knows
// that agent (in any state), so callers can honour "use existing contact
// owner" before round robin or first-to-answer.
func (r *Roster) ExistingOwner(ownerID string) (Agent, bool) {
	if ownerID == "" {
		return Agent{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.agents[ownerID]
	if !ok {
		return Agent{}, false
	}
	return rec.a.clone(), true
}

// AssignRoundRobin returns the next owner for a contact of queue: the first
// logged-in agent of the queue whose ID follows the one this queue assigned
// last (wrapping around). Keying the rotation on the last ID rather than an
// index keeps it fair when agents join, leave or log out. Agents need not be
// available — ownership is about who handles the contact from now on, not
// who takes this call. ErrNoAgent when nobody of the queue is logged in.
func (r *Roster) AssignRoundRobin(queue string, now time.Time) (Agent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	members := r.matching(func(rec *agentRec) bool { return rec.state.LoggedIn() && rec.a.InQueue(queue) })
	if len(members) == 0 {
		return Agent{}, fmt.Errorf("round robin in queue %q: %w", queue, ErrNoAgent)
	}
	last := r.rr[queue]
	pick := members[0]
	for _, rec := range members { // members are in ID order
		if rec.a.ID > last {
			pick = rec
			break
		}
	}
	r.rr[queue] = pick.a.ID
	return pick.a.clone(), nil
}

// PromptInfo is what a first-to-answer prompt offers.
type PromptInfo struct {
	// Contact and Script are shown to the agents.
	Contact, Script string
	// ContactID and CadenceID say whose owner the winner becomes when the
	// prompt assigns an owner (first_to_answer); the roster only carries them.
	ContactID, CadenceID string
	// CallID ties the prompt to a call attempt, if any.
	CallID string
	// Reserve makes the winner reserved for the call (preview dialing: the
	// agent accepts before we dial). Without it the winner only becomes the
	// contact's owner and keeps its state.
	Reserve bool
	// TTL overrides Options.PromptTTL.
	TTL time.Duration
}

// Prompt is an offer to several agents; the first to accept takes it.
type Prompt struct {
	ID      string
	Queue   string
	Info    PromptInfo
	Offered []string // agent IDs, in ID order
	Expires time.Time
}

func (p Prompt) clone() *Prompt {
	p.Offered = append([]string(nil), p.Offered...)
	return &p
}

type prompt struct {
	p       Prompt
	offered map[string]bool
	winner  string
	closed  bool      // taken or expired: no more accepts
	purge   time.Time // when the closed prompt is forgotten
}

// Prompt offers info to every available agent of queue; each gets an
// EventPrompt. ErrNoAgent when nobody is available.
func (r *Roster) Prompt(queue string, info PromptInfo, now time.Time) (*Prompt, error) {
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
	recs := r.matching(func(rec *agentRec) bool { return rec.state == Available && rec.a.InQueue(queue) })
	if len(recs) == 0 {
		return nil, fmt.Errorf("prompt in queue %q: %w", queue, ErrNoAgent)
	}
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

// Accept lets an offered agent take a prompt. The first accept wins and
// returns the agent (reserved if the prompt asked for it); later accepts get
// ErrAlreadyTaken, accepts after the deadline ErrPromptExpired. When the
// prompt reserves and the agent is no longer available, the accept fails
// with ErrAgentBusy and the prompt stays open for the others.
func (r *Roster) Accept(promptID, agentID string, now time.Time) (Agent, error) {
	a, _, err := r.AcceptPrompt(promptID, agentID, now)
	return a, err
}

// AcceptPrompt is Accept that also returns the prompt taken, so the caller
// can act on its Info (record the new contact owner, dial the contact).
func (r *Roster) AcceptPrompt(promptID, agentID string, now time.Time) (Agent, Prompt, error) {
	a, p, err := r.accept(promptID, agentID, now)
	if err != nil {
		return Agent{}, Prompt{}, err
	}
	return a, *p, nil
}

func (r *Roster) accept(promptID, agentID string, now time.Time) (Agent, *Prompt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	p, ok := r.prompts[promptID]
	if !ok {
		return Agent{}, nil, fmt.Errorf("accept %s: %w", promptID, ErrUnknownPrompt)
	}
	switch {
	case p.winner != "":
		return Agent{}, nil, fmt.Errorf("accept %s by %s: %w", promptID, agentID, ErrAlreadyTaken)
	case p.closed:
		return Agent{}, nil, fmt.Errorf("accept %s by %s: %w", promptID, agentID, ErrPromptExpired)
	case !p.offered[agentID]:
		return Agent{}, nil, fmt.Errorf("accept %s by %s: %w", promptID, agentID, ErrNotOffered)
	}
	rec, err := r.get(agentID)
	if err != nil {
		return Agent{}, nil, fmt.Errorf("accept %s: %w", promptID, err)
	}
	if p.p.Info.Reserve {
		if rec.state != Available {
			return Agent{}, nil, fmt.Errorf("accept %s by %s: %w (is %s)", promptID, agentID, ErrAgentBusy, rec.state)
		}
		r.reserve(rec, p.p.Queue, now)
	}
	p.winner = agentID
	r.closePrompt(p, now, "taken by "+agentID)
	return rec.a.clone(), p.p.clone(), nil
}

// closePrompt stops accepts on p, tells the other offered agents, and keeps
// a tombstone for one more TTL so late accepts get a precise error.
func (r *Roster) closePrompt(p *prompt, at time.Time, why string) {
	p.closed = true
	p.purge = at.Add(p.p.Expires.Sub(at))
	if !p.purge.After(at) {
		p.purge = at.Add(r.opts.PromptTTL)
	}
	for _, id := range p.p.Offered {
		if id == p.winner {
			continue
		}
		if rec, ok := r.agents[id]; ok {
			r.emit(rec, Event{Kind: EventPromptClosed, At: at, Prompt: p.p.clone(), Text: "prompt " + p.p.ID + " " + why})
		}
	}
}

func (r *Roster) expirePrompts(now time.Time) {
	for id, p := range r.prompts {
		switch {
		case p.closed && !p.purge.After(now):
			delete(r.prompts, id)
		case !p.closed && !p.p.Expires.After(now):
			r.closePrompt(p, p.p.Expires, "expired")
		}
	}
}
