package agents

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Options configure a Roster. The zero value is usable: every zero field
// takes the default named in its comment.
type Options struct {
	// DefaultWrapUp is how long an agent stays in wrap-up after a call before
	// becoming available again, when the call's queue has no entry in WrapUp.
	// Default 30 s; a negative value means no wrap-up at all.
	DefaultWrapUp time.Duration
	// WrapUp overrides DefaultWrapUp per queue (negative: no wrap-up).
	WrapUp map[string]time.Duration
	// ReservationTimeout returns a reserved agent to available when the call
	// holding it neither connects nor releases it in time (a lost call must
	// not strand an agent). Default 2 minutes, longer than any ring plus AMD.
	ReservationTimeout time.Duration
	// PromptTTL is how long a first-to-answer prompt stays open when the
	// prompt itself sets no TTL. Default 30 s.
	PromptTTL time.Duration
	// EventBuffer is the per-subscription buffer; when full the oldest event
	// is dropped (see Subscribe). Default 64.
	EventBuffer int
	// InitialHandle seeds the mean handle time before any call ended.
	// Default 3 minutes.
	InitialHandle time.Duration
	// HandleAlpha is the weight of each finished call in the exponentially
	// weighted mean handle time, in (0, 1]. Default 0.05 (about the last 20 calls).
	HandleAlpha float64
}

func (o Options) withDefaults() (Options, error) {
	if o.DefaultWrapUp == 0 {
		o.DefaultWrapUp = 30 * time.Second
	}
	if o.ReservationTimeout == 0 {
		o.ReservationTimeout = 2 * time.Minute
	}
	if o.ReservationTimeout < 0 {
		return o, fmt.Errorf("reservation_timeout: must be > 0, got %v", o.ReservationTimeout)
	}
	if o.PromptTTL == 0 {
		o.PromptTTL = 30 * time.Second
	}
	if o.PromptTTL < 0 {
		return o, fmt.Errorf("prompt_ttl: must be > 0, got %v", o.PromptTTL)
	}
	if o.EventBuffer == 0 {
		o.EventBuffer = 64
	}
	if o.EventBuffer < 1 {
		return o, fmt.Errorf("event_buffer: must be ≥ 1, got %d", o.EventBuffer)
	}
	if o.InitialHandle == 0 {
		o.InitialHandle = 3 * time.Minute
	}
	if o.InitialHandle < 0 {
		return o, fmt.Errorf("initial_handle: must be > 0, got %v", o.InitialHandle)
	}
	if o.HandleAlpha == 0 {
		o.HandleAlpha = 0.05
	}
	if !(o.HandleAlpha > 0 && o.HandleAlpha <= 1) {
		return o, fmt.Errorf("handle_alpha: must be in (0, 1], got %v", o.HandleAlpha)
	}
	wu := make(map[string]time.Duration, len(o.WrapUp))
	for q, d := range o.WrapUp {
		if q == "" {
			return o, fmt.Errorf("wrap_up: queue name must not be empty")
		}
		wu[q] = d
	}
	o.WrapUp = wu
	return o, nil
}

// Roster holds agents and their states. It is safe for concurrent use; every
// method holds one mutex for a short, non-blocking critical section (event
// delivery never blocks, see Subscribe).
type Roster struct {
	opts Options

	mu         sync.Mutex
	agents     map[string]*agentRec
	ids        []string          // sorted agent IDs: deterministic iteration
	rr         map[string]string // queue → agent last assigned by round robin
	prompts    map[string]*prompt
	promptSeq  uint64
	subSeq     uint64
	meanHandle float64 // seconds, EWMA of finished calls
	dropped    uint64  // events dropped over all subscriptions
}

type agentRec struct {
	a         Agent
	state     State
	since     time.Time // when the current state was entered
	idleSince time.Time // when the agent last became available
	queue     string    // queue of the current reservation or call
	deadline  time.Time // reservation expiry or wrap-up end; zero when none
	callSince time.Time // when the current call connected
	totals    [numStates]time.Duration
	subs      map[uint64]*subscription
}

// NewRoster returns an empty roster.
func NewRoster(opts Options) (*Roster, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("agents roster: %w", err)
	}
	return &Roster{
		opts:       o,
		agents:     make(map[string]*agentRec),
		rr:         make(map[string]string),
		prompts:    make(map[string]*prompt),
		meanHandle: o.InitialHandle.Seconds(),
	}, nil
}

// Add registers an agent, logged out.
func (r *Roster) Add(a Agent) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("add agent: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.agents[a.ID]; ok {
		return fmt.Errorf("add agent %s: %w", a.ID, ErrDuplicate)
	}
	r.agents[a.ID] = &agentRec{a: a.clone(), subs: make(map[uint64]*subscription)}
	i, _ := slices.BinarySearch(r.ids, a.ID)
	r.ids = slices.Insert(r.ids, i, a.ID)
	return nil
}

// Remove deletes a logged-out agent and closes its subscriptions.
func (r *Roster) Remove(agentID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := r.get(agentID)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if rec.state != LoggedOut {
		return fmt.Errorf("remove agent %s: must be logged out, is %s", agentID, rec.state)
	}
	for id, s := range rec.subs {
		s.close()
		delete(rec.subs, id)
	}
	delete(r.agents, agentID)
	i, _ := slices.BinarySearch(r.ids, agentID)
	r.ids = slices.Delete(r.ids, i, i+1)
	return nil
}

// Status is an agent and its state.
type Status struct {
	Agent Agent
	State State
	// Since is when the agent entered State.
	Since time.Time
	// Queue is the queue of the current reservation or call, if any.
	Queue string
}

// Get returns one agent's status as of now.
func (r *Roster) Get(agentID string, now time.Time) (Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	if err != nil {
		return Status{}, err
	}
	return rec.status(), nil
}

// List returns every agent's status as of now, ordered by ID.
func (r *Roster) List(now time.Time) []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	out := make([]Status, 0, len(r.ids))
	for _, id := range r.ids {
		out = append(out, r.agents[id].status())
	}
	return out
}

func (rec *agentRec) status() Status {
	return Status{Agent: rec.a.clone(), State: rec.state, Since: rec.since, Queue: rec.queue}
}

// Login makes a logged-out agent available.
func (r *Roster) Login(agentID string, now time.Time) error {
	return r.change(agentID, now, LoggedOut, Available)
}

// Logout logs an agent out (from available, paused or wrap-up).
func (r *Roster) Logout(agentID string, now time.Time) error {
	return r.change(agentID, now, noState, LoggedOut)
}

// Pause stops an available or wrapping-up agent from getting calls.
func (r *Roster) Pause(agentID string, now time.Time) error {
	return r.change(agentID, now, noState, Paused)
}

// Resume makes a paused agent available.
func (r *Roster) Resume(agentID string, now time.Time) error {
	return r.change(agentID, now, Paused, Available)
}

// Available makes an agent available now: ends its wrap-up early, or resumes
// it from a pause.
func (r *Roster) Available(agentID string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	if err != nil {
		return err
	}
	if rec.state != WrapUp && rec.state != Paused {
		// Reserved → Available is legal but is Release's job: an agent
		// must not free itself from a call being dialed for it.
		return &TransitionError{AgentID: agentID, From: rec.state, To: Available}
	}
	return r.setState(rec, Available, now)
}

// Release returns a reserved agent to available (the call failed, was not
// answered by a human, or was answered by a machine).
func (r *Roster) Release(agentID string, now time.Time) error {
	return r.change(agentID, now, Reserved, Available)
}

// noState means "any from-state the transition table allows".
const noState = numStates

func (r *Roster) change(agentID string, now time.Time, from, to State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	if err != nil {
		return err
	}
	if from != noState && rec.state != from {
		return &TransitionError{AgentID: agentID, From: rec.state, To: to}
	}
	return r.setState(rec, to, now)
}

// Reserve holds the longest-idle available agent of queue ("" = any queue)
// for one call. Ties go to the smaller ID. The reservation expires after
// Options.ReservationTimeout unless Connect or Release ends it first.
func (r *Roster) Reserve(queue string, now time.Time) (Agent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	var best *agentRec
	for _, id := range r.ids {
		rec := r.agents[id]
		if rec.state != Available || !rec.a.InQueue(queue) {
			continue
		}
		if best == nil || rec.idleSince.Before(best.idleSince) {
			best = rec
		}
	}
	if best == nil {
		return Agent{}, fmt.Errorf("reserve in queue %q: %w", queue, ErrNoAgent)
	}
	r.reserve(best, queue, now)
	return best.a.clone(), nil
}

// ReserveAgent holds one given agent for a call of queue, for example the
// contact's owner. It fails with ErrAgentBusy when the agent is not available.
func (r *Roster) ReserveAgent(agentID, queue string, now time.Time) (Agent, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	if err != nil {
		return Agent{}, err
	}
	if rec.state != Available {
		return Agent{}, fmt.Errorf("reserve agent %s: %w (is %s)", agentID, ErrAgentBusy, rec.state)
	}
	r.reserve(rec, queue, now)
	return rec.a.clone(), nil
}

func (r *Roster) reserve(rec *agentRec, queue string, now time.Time) {
	// Available → Reserved is always legal; setState cannot fail here.
	_ = r.setState(rec, Reserved, now)
	rec.queue = queue
	rec.deadline = now.Add(r.opts.ReservationTimeout)
}

// ConnectInfo describes the call an agent is being connected to; it is what
// the agent UI shows.
type ConnectInfo struct {
	// CallID identifies the call (attempt ID).
	CallID string
	// Contact names the person ("Ada Lovelace, +15551234567").
	Contact string
	// Script is the talk script for this step.
	Script string
}

// Connect bridges a reserved agent to an answered call: reserved → on_call.
// The agent's subscribers get a Connecting event first.
func (r *Roster) Connect(agentID string, info ConnectInfo, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	if err != nil {
		return err
	}
	if rec.state != Reserved {
		return &TransitionError{AgentID: agentID, From: rec.state, To: OnCall}
	}
	r.emit(rec, Event{Kind: EventConnecting, At: now, CallID: info.CallID, Contact: info.Contact, Script: info.Script,
		Text: fmt.Sprintf("connecting you to %s, script: %s", info.Contact, info.Script)})
	if err := r.setState(rec, OnCall, now); err != nil {
		return err
	}
	rec.callSince = now
	rec.deadline = time.Time{}
	return nil
}

// Hangup ends an agent's call: on_call → wrap_up for the wrap-up time of the
// call's queue, after which the agent is available again (Tick, or any later
// method call, applies it). The call's duration feeds the mean handle time.
func (r *Roster) Hangup(agentID string, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	rec, err := r.get(agentID)
	if err != nil {
		return err
	}
	if rec.state != OnCall {
		return &TransitionError{AgentID: agentID, From: rec.state, To: WrapUp}
	}
	if d := now.Sub(rec.callSince).Seconds(); d >= 0 {
		r.meanHandle += r.opts.HandleAlpha * (d - r.meanHandle)
	}
	if err := r.setState(rec, WrapUp, now); err != nil {
		return err
	}
	wrap := r.wrapUp(rec.queue)
	if wrap <= 0 {
		return r.setState(rec, Available, now)
	}
	rec.deadline = now.Add(wrap)
	return nil
}

func (r *Roster) wrapUp(queue string) time.Duration {
	if d, ok := r.opts.WrapUp[queue]; ok {
		return d
	}
	return r.opts.DefaultWrapUp
}

// Tick applies everything due at or before now: wrap-ups end, reservations
// and prompts expire. Call it from the clock loop (or a simulation's event
// queue) so subscribers get those events on time.
func (r *Roster) Tick(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
}

// NextDeadline returns the earliest time at which Tick has something to do,
// and false when nothing is pending. A simulation schedules its next Tick there.
func (r *Roster) NextDeadline() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, id := range r.ids {
		if d := r.agents[id].deadline; !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	for _, p := range r.prompts {
		d := p.p.Expires
		if p.closed {
			d = p.purge
		}
		if next.IsZero() || d.Before(next) {
			next = d
		}
	}
	return next, !next.IsZero()
}

// expire applies due deadlines. A transition takes effect at its deadline,
// not at now, so idle times and state totals stay exact however late the
// clock loop runs.
func (r *Roster) expire(now time.Time) {
	for _, id := range r.ids {
		rec := r.agents[id]
		if rec.deadline.IsZero() || rec.deadline.After(now) {
			continue
		}
		at := rec.deadline
		switch rec.state {
		case WrapUp, Reserved:
			_ = r.setState(rec, Available, at)
		}
	}
	r.expirePrompts(now)
}

// setState moves rec to state to at time at, after checking the table.
func (r *Roster) setState(rec *agentRec, to State, at time.Time) error {
	from := rec.state
	if !CanTransition(from, to) {
		return &TransitionError{AgentID: rec.a.ID, From: from, To: to}
	}
	if !rec.since.IsZero() && at.After(rec.since) {
		rec.totals[from] += at.Sub(rec.since)
	}
	rec.state = to
	rec.since = at
	rec.deadline = time.Time{}
	switch to {
	case Available:
		rec.idleSince = at
		rec.queue = ""
	case LoggedOut, Paused:
		rec.queue = ""
	}
	r.emit(rec, Event{Kind: EventState, At: at, From: from, To: to,
		Text: fmt.Sprintf("state %s → %s", from, to)})
	return nil
}

func (r *Roster) get(agentID string) (*agentRec, error) {
	rec, ok := r.agents[agentID]
	if !ok {
		return nil, fmt.Errorf("agent %q: %w", agentID, ErrUnknownAgent)
	}
	return rec, nil
}

// matching returns the agents for which keep is true, in ID order.
func (r *Roster) matching(keep func(*agentRec) bool) []*agentRec {
	var out []*agentRec
	for _, id := range r.ids {
		if rec := r.agents[id]; keep(rec) {
			out = append(out, rec)
		}
	}
	return out
}

// byTime orders a and b by time, then by ID.
func byTime(at, bt time.Time, aid, bid string) int {
	if c := at.Compare(bt); c != 0 {
		return c
	}
	return cmp.Compare(aid, bid)
}
