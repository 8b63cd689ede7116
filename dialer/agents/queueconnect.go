package agents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// QueuePrefix marks a connect destination that names an agent queue
// ("queue:sales") rather than a SIP URI or driver endpoint.
const QueuePrefix = "queue:"

// Dial modes of a call step (dialer.Call.Mode).
const (
	ModeAgentless   = "agentless"   // no agent: voicemail drop, message, AI/IVR endpoint ("" too)
	ModePreview     = "preview"     // an agent accepts the contact before we dial
	ModeProgressive = "progressive" // dial only with an agent reserved, one call per agent
	ModePredictive  = "predictive"  // dial ahead of agents, within the abandonment budget
)

// agentMode reports whether mode puts an agent on the call.
func agentMode(mode string) bool {
	return mode == ModePreview || mode == ModeProgressive || mode == ModePredictive
}

// ConnectorOptions configure a QueueConnector. Roster and Inner are required.
type ConnectorOptions struct {
	// Roster holds the agents calls are connected to.
	Roster *Roster
	// Inner bridges a leg to a SIP URI or driver endpoint; in production
	// dialer.DriverConnector(drivers), so the back end that holds the leg
	// makes the bridge.
	Inner dialer.Connector
	// Clock drives the Roster's transitions; nil is the wall clock.
	Clock Clock
	// Registerer receives the connect and abandon counters; nil registers nowhere.
	Registerer prometheus.Registerer
	// Logger receives connect failures; nil discards them.
	Logger *slog.Logger
}

// QueueConnector is the dialer.Connector of live-agent calls. On a human
// answer of a call bound for an agent (OnHuman.Destination "queue:NAME", or
// an agent dial mode with Call.Queue set) it takes the agent the Gate
// reserved for the call, or else reserves one now (the contact's owner when
// available, else the longest-idle agent of the queue), tells the agent who
// is coming (Roster Connect: "connecting you to {contact}, script: …"), and
// bridges the leg to the agent's Destination through Inner. When the bridge
// ends the agent goes to wrap-up. Any other destination (a sip: URI, an AI
// endpoint) goes straight to Inner.
//
// Without an agent it fails at once: the dialer then plays the safe-harbor
// message and reports the call abandoned. It is safe for concurrent use.
type QueueConnector struct {
	roster *Roster
	inner  dialer.Connector
	clock  Clock
	log    *slog.Logger
	m      *connMetrics

	mu    sync.Mutex
	calls map[string]*callSlot // by Call.ID, while a Gate runs the call
	freed func()               // the Gate's wake-up: an agent may have become free
}

var _ dialer.Connector = (*QueueConnector)(nil)

// NewQueueConnector checks opts and builds a QueueConnector.
func NewQueueConnector(opts ConnectorOptions) (*QueueConnector, error) {
	if opts.Roster == nil {
		return nil, errors.New("queue connector options: roster: required")
	}
	if opts.Inner == nil {
		return nil, errors.New("queue connector options: inner: required (the connector that bridges to a SIP URI or endpoint)")
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := newConnMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("queue connector metrics: %w", err)
	}
	return &QueueConnector{
		roster: opts.Roster,
		inner:  opts.Inner,
		clock:  opts.Clock,
		log:    opts.Logger.With("component", "queue_connector"),
		m:      m,
		calls:  make(map[string]*callSlot),
	}, nil
}

// Roster returns the roster the connector connects agents from.
func (q *QueueConnector) Roster() *Roster { return q.roster }

// callSlot is what the Gate and the connector share about one call: the
// agent reserved or connected for it. Its mutex orders the connector's
// connect against the Gate's end of the call.
type callSlot struct {
	mu       sync.Mutex
	agentID  string    // the agent reserved for or connected to the call
	held     bool      // h is a live reservation the call owns
	h        hold      // the reservation
	onCall   bool      // the agent is connected; callAt identifies the call
	callAt   time.Time // when the agent was connected
	finished bool      // the Gate is done with the call: no new reservation
	answered func()    // called once on the human answer (predictive in-flight count)
	stop     chan struct{}
	stopOnce sync.Once
}

func newSlot() *callSlot { return &callSlot{stop: make(chan struct{})} }

// register opens a slot for a call the Gate runs.
func (q *QueueConnector) register(id string, answered func()) (*callSlot, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.calls[id]; dup {
		return nil, fmt.Errorf("id: call %q is already in flight", id)
	}
	s := newSlot()
	s.answered = answered
	q.calls[id] = s
	return s, nil
}

func (q *QueueConnector) unregister(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.calls, id)
}

func (q *QueueConnector) slot(id string) *callSlot {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls[id]
}

// setHold gives the slot the reservation the Gate made before dialing.
func (s *callSlot) setHold(h hold) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h, s.held, s.agentID = h, true, h.agent.ID
}

// agent returns the ID of the agent reserved for or connected to the call.
func (s *callSlot) agent() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agentID
}

// connectQueue says whether c goes to an agent, and of which queue.
func connectQueue(c dialer.Call, held bool) (string, bool) {
	if name, ok := cutQueue(c.OnHuman.Destination); ok {
		return name, true
	}
	if held || (agentMode(c.Mode) && c.Queue != "") {
		return c.Queue, true
	}
	return "", false
}

// cutQueue returns the queue a "queue:NAME" destination names.
func cutQueue(dest string) (string, bool) { return strings.CutPrefix(dest, QueuePrefix) }

// contactLabel is what the agent sees of the contact.
func contactLabel(c dialer.Call) string {
	if c.ContactName == "" {
		return c.To
	}
	return c.ContactName + ", " + c.To
}

// Connect implements dialer.Connector.
func (q *QueueConnector) Connect(ctx context.Context, leg dialer.Leg, c dialer.Call) error {
	s := q.slot(c.ID)
	if s == nil {
		s = newSlot() // not run by a Gate: the leg's end alone ends the agent's call
	} else if s.answered != nil {
		s.answered()
	}
	s.mu.Lock()
	queue, toAgent := connectQueue(c, s.held)
	s.mu.Unlock()
	if !toAgent {
		return q.inner.Connect(ctx, leg, c)
	}
	label := q.m.queueLabel(queue)

	a, callAt, err := q.connectAgent(s, c, queue)
	if err != nil {
		q.m.abandons.WithLabelValues(label).Inc()
		q.log.Info("no agent connected", "call_id", c.ID, "queue", queue, "err", err)
		return err
	}
	bridge := c
	bridge.OnHuman.Destination = a.Destination
	if err := q.inner.Connect(ctx, leg, bridge); err != nil {
		s.mu.Lock()
		wasOnCall := s.onCall
		s.onCall = false
		s.mu.Unlock()
		if wasOnCall {
			if aerr := q.roster.abortCall(a.ID, callAt, q.clock.Now()); aerr != nil {
				q.log.Warn("return agent after a failed bridge", "call_id", c.ID, "agent", a.ID, "err", aerr)
			}
			q.notifyFreed()
		}
		q.m.abandons.WithLabelValues(label).Inc()
		return fmt.Errorf("connect agent %s (%s): %w", a.ID, a.Destination, err)
	}
	q.m.connects.WithLabelValues(label).Inc()
	s.mu.Lock()
	finished := s.finished
	s.mu.Unlock()
	if finished {
		// The Gate gave up on the call while we bridged: end it now.
		q.endCall(s)
		return nil
	}
	go func() {
		select {
		case <-leg.Done():
		case <-s.stop:
		}
		q.endCall(s)
	}()
	return nil
}

// connectAgent takes the call's reserved agent, or reserves one, and
// connects it in the Roster (on_call, Connecting event). It returns the
// agent and when it was connected.
func (q *QueueConnector) connectAgent(s *callSlot, c dialer.Call, queue string) (Agent, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return Agent{}, time.Time{}, errors.New("call already ended")
	}
	now := q.clock.Now()
	info := ConnectInfo{CallID: c.ID, Contact: contactLabel(c), Script: c.Script}
	if s.held {
		s.held = false
		a, err := q.roster.connectHold(s.h, info, now)
		if err == nil {
			s.onCall, s.callAt = true, now
			return a, now, nil
		}
		// The reservation was lost (it expired on a long call): any free
		// agent of the queue beats abandoning the call.
		q.log.Warn("reserved agent lost, reserving another", "call_id", c.ID, "agent", s.h.agent.ID, "err", err)
	}
	h, err := q.roster.reserveHold(queue, c.Owner, now)
	if err != nil {
		return Agent{}, time.Time{}, fmt.Errorf("connect to queue %s: %w", queue, err)
	}
	a, err := q.roster.connectHold(h, info, now)
	if err != nil {
		q.roster.releaseHold(h, now)
		return Agent{}, time.Time{}, fmt.Errorf("connect to queue %s: %w", queue, err)
	}
	s.agentID, s.onCall, s.callAt = a.ID, true, now
	return a, now, nil
}

// endCall puts the connected agent into wrap-up, once.
func (q *QueueConnector) endCall(s *callSlot) {
	s.mu.Lock()
	onCall, agentID, at := s.onCall, s.agentID, s.callAt
	s.onCall = false
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
	if !onCall {
		return
	}
	if err := q.roster.hangupCall(agentID, at, q.clock.Now()); err != nil {
		q.log.Warn("agent wrap-up after the call", "agent", agentID, "err", err)
	}
	q.notifyFreed()
}

// setFreed installs the Gate's wake-up.
func (q *QueueConnector) setFreed(f func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.freed = f
}

// notifyFreed wakes the Gate's waiters: an agent was released, or its call
// ended (it is available now when its queue has no wrap-up).
func (q *QueueConnector) notifyFreed() {
	q.mu.Lock()
	f := q.freed
	q.mu.Unlock()
	if f != nil {
		f()
	}
}

// finish ends the Gate's part of a call: a reservation the call did not use
// goes back to available, a connected agent goes to wrap-up, and the
// connector reserves nothing more for the call. It returns the agent the
// call had, if any.
func (q *QueueConnector) finish(s *callSlot) (agentID string) {
	s.mu.Lock()
	s.finished = true
	held, h := s.held, s.h
	s.held = false
	onCall := s.onCall
	agentID = s.agentID
	s.mu.Unlock()
	if held && q.roster.releaseHold(h, q.clock.Now()) {
		q.notifyFreed()
	}
	if onCall {
		q.endCall(s)
	} else {
		s.stopOnce.Do(func() { close(s.stop) })
	}
	return agentID
}
