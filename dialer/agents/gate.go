package agents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/predictive"
)

// Dialer places one call and reports its outcome; *dialer.Dialer is one.
// The Gate is one too, so it slots in where the engine expects a dialer.
type Dialer interface {
	Dial(ctx context.Context, c dialer.Call) dialer.Outcome
}

// Defaults for GateOptions fields left zero.
const (
	DefaultMaxWait      = 2 * time.Minute
	DefaultRequeueDelay = time.Minute
	DefaultPollInterval = time.Second
)

// GateOptions configure a Gate. Dialer and Connector are required.
type GateOptions struct {
	// Dialer places the calls the gate lets through; its Options.Connector
	// must be Connector, so that the agent reserved here is the one a human
	// answer is bridged to.
	Dialer Dialer
	// Connector is the dialer's QueueConnector; the gate uses its Roster.
	Connector *QueueConnector
	// Pacer paces predictive calls and keeps the abandonment ledger; every
	// live answer of a call with a Campaign is recorded in it. nil: no
	// accounting, and predictive calls dial as progressive (never abandon
	// for lack of an agent).
	Pacer *predictive.Pacer
	// Clock drives waits and the Roster; nil is the wall clock. It must be
	// the Connector's clock.
	Clock Clock
	// MaxWait is how long a call may wait for an agent of its queue (or
	// for predictive capacity) before it is handed back unplaced with
	// Outcome.Requeue; nil or a result ≤ 0 means DefaultMaxWait (2 min).
	MaxWait func(queue string) time.Duration
	// RequeueDelay is the Outcome.Requeue of such a call (default 1 min).
	RequeueDelay time.Duration
	// PollInterval bounds how long a waiting call goes without re-checking
	// the roster and the pacer (default 1 s). Releases made through the
	// gate and Notify wake waiters at once; the poll catches what the gate
	// does not see (wrap-ups ending, the age of calls in flight).
	PollInterval time.Duration
	// PromptTTL is how long a preview prompt waits for an accept; 0 is
	// the Roster's PromptTTL.
	PromptTTL time.Duration
	// Registerer receives the gate's metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Logger receives the gate's logs; nil discards them.
	Logger *slog.Logger
}

// Gate runs a call's dial mode in front of the dialer:
//   - "" and "agentless": straight to the dialer;
//   - "progressive": reserve an agent (the contact's owner when available,
//     else the longest idle of Call.Queue), waiting up to MaxWait, then dial;
//   - "preview": offer the contact to the queue's available agents (only to
//     the owner when available) and dial once one accepts; an expired offer
//     is requeued;
//   - "predictive": dial without an agent while the Pacer's target of calls
//     in flight for Call.Campaign is not reached (the agent is reserved at
//     the human answer by the QueueConnector); when the pacer falls back to
//     progressive (warm-up, low budget), reserve first as progressive.
//
// A call that gets no agent or capacity within MaxWait is not placed: its
// outcome has disposition failed, a zero InviteSent and Requeue set. A
// reserved agent that the call did not connect (busy, no answer, machine,
// not placed) is released as soon as the dialer returns. Every finished
// call with a Campaign feeds the Pacer. Safe for concurrent use; it starts
// no goroutine of its own.
type Gate struct {
	d         Dialer
	conn      *QueueConnector
	roster    *Roster
	pacer     *predictive.Pacer
	clock     Clock
	maxWait   func(string) time.Duration
	requeue   time.Duration
	poll      time.Duration
	promptTTL time.Duration
	log       *slog.Logger
	m         *gateMetrics

	kickMu sync.Mutex
	kick   chan struct{} // closed and replaced by Notify

	closed    chan struct{}
	closeOnce sync.Once

	cmu       sync.Mutex
	campaigns map[string]*campaignState
}

// NewGate checks opts and builds a Gate.
func NewGate(opts GateOptions) (*Gate, error) {
	switch {
	case opts.Dialer == nil:
		return nil, errors.New("gate options: dialer: required")
	case opts.Connector == nil:
		return nil, errors.New("gate options: connector: required (the dialer's QueueConnector)")
	case opts.RequeueDelay < 0:
		return nil, fmt.Errorf("gate options: requeue_delay: must be ≥ 0, got %v", opts.RequeueDelay)
	case opts.PollInterval < 0:
		return nil, fmt.Errorf("gate options: poll_interval: must be ≥ 0, got %v", opts.PollInterval)
	case opts.PromptTTL < 0:
		return nil, fmt.Errorf("gate options: prompt_ttl: must be ≥ 0, got %v", opts.PromptTTL)
	}
	if opts.Clock == nil {
		opts.Clock = opts.Connector.clock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	setDefault(&opts.RequeueDelay, DefaultRequeueDelay)
	setDefault(&opts.PollInterval, DefaultPollInterval)
	m, err := newGateMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("gate metrics: %w", err)
	}
	g := &Gate{
		d:         opts.Dialer,
		conn:      opts.Connector,
		roster:    opts.Connector.roster,
		pacer:     opts.Pacer,
		clock:     opts.Clock,
		maxWait:   opts.MaxWait,
		requeue:   opts.RequeueDelay,
		poll:      opts.PollInterval,
		promptTTL: opts.PromptTTL,
		log:       opts.Logger.With("component", "agents_gate"),
		m:         m,
		kick:      make(chan struct{}),
		closed:    make(chan struct{}),
		campaigns: make(map[string]*campaignState),
	}
	opts.Connector.setFreed(g.Notify)
	return g, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Notify wakes every call waiting for an agent to look again. The gate
// calls it itself when it releases an agent or a call ends; call it after
// roster changes made elsewhere (an agent logs in, becomes available,
// resumes) so waiting calls need not wait for the next poll.
func (g *Gate) Notify() {
	g.kickMu.Lock()
	defer g.kickMu.Unlock()
	close(g.kick)
	g.kick = make(chan struct{})
}

func (g *Gate) kicked() <-chan struct{} {
	g.kickMu.Lock()
	defer g.kickMu.Unlock()
	return g.kick
}

// Close makes calls waiting in the gate give up unplaced (nothing reserved)
// and refuses new agent calls; calls already handed to the dialer go on.
// Call it before the dialer's Stop. Idempotent.
func (g *Gate) Close() {
	g.closeOnce.Do(func() { close(g.closed) })
}

func (g *Gate) maxWaitFor(queue string) time.Duration {
	if g.maxWait != nil {
		if d := g.maxWait(queue); d > 0 {
			return d
		}
	}
	return DefaultMaxWait
}

// waitResult is how a wait for an agent or capacity ended.
type waitResult int

const (
	waitOK waitResult = iota
	waitTimeout
	waitCancelled
	waitClosed
)

// wait calls try until it succeeds, ctx ends, the gate closes or deadline
// passes. It re-tries when Notify is called and at least every
// PollInterval on the gate's clock; it never spins.
func (g *Gate) wait(ctx context.Context, deadline time.Time, try func(now time.Time) bool) waitResult {
	var tick <-chan time.Time
	for {
		switch {
		case ctx.Err() != nil:
			return waitCancelled
		case isDone(g.closed):
			return waitClosed
		}
		kick := g.kicked() // before trying: a release during the try is not missed
		now := g.clock.Now()
		if try(now) {
			return waitOK
		}
		if !now.Before(deadline) {
			return waitTimeout
		}
		if tick == nil {
			tick = g.clock.After(min(deadline.Sub(now), g.poll))
		}
		select {
		case <-ctx.Done():
			return waitCancelled
		case <-g.closed:
			return waitClosed
		case <-kick:
		case <-tick:
			tick = nil
		}
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// callQueue is the agent queue of c: Call.Queue, else the queue named by a
// "queue:NAME" destination.
func callQueue(c dialer.Call) string {
	if c.Queue != "" {
		return c.Queue
	}
	if name, ok := cutQueue(c.OnHuman.Destination); ok {
		return name
	}
	return ""
}

func queueName(q string) string {
	if q == "" {
		return "any queue"
	}
	return "queue " + q
}

// notPlaced is the outcome of a call the gate did not hand to the dialer.
func notPlaced(c dialer.Call, start time.Time, detail string, requeue time.Duration) dialer.Outcome {
	return dialer.Outcome{
		CallID:      c.ID,
		To:          c.To,
		Trunk:       c.Trunk,
		CallerID:    c.CallerID,
		Disposition: dialer.Failed,
		Detail:      detail,
		Requeue:     requeue,
		Timings:     dialer.Timings{Queued: start},
	}
}

// Dial runs c's dial mode and, when it may go, the call itself; it returns
// the call's outcome (Agent names the agent reserved or connected).
func (g *Gate) Dial(ctx context.Context, c dialer.Call) dialer.Outcome {
	start := g.clock.Now()
	mode := c.Mode
	if mode == "" {
		mode = ModeAgentless
	}
	if mode != ModeAgentless && !agentMode(mode) {
		g.m.calls.WithLabelValues(otherMode, resultRejected).Inc()
		return notPlaced(c, start, fmt.Sprintf("mode: unknown dial mode %q (want agentless, preview, progressive or predictive)", c.Mode), 0)
	}
	if mode == ModeAgentless && c.OnHuman.Kind != dialer.HumanConnect {
		g.m.calls.WithLabelValues(mode, resultDialed).Inc()
		return g.d.Dial(ctx, c) // no agent, nothing to account
	}
	if c.ID == "" {
		c.ID = uuid.NewString() // the connector finds the call's agent by ID
	}
	if agentMode(mode) && isDone(g.closed) {
		g.m.calls.WithLabelValues(mode, resultCancelled).Inc()
		return notPlaced(c, start, dialer.DetailNotRunning+": agent gate closed, call not placed", 0)
	}
	queue := callQueue(c)
	var cs *campaignState
	var answered func()
	if mode == ModePredictive && g.pacer != nil {
		cs = g.enterCampaign(c.Campaign)
		defer g.leaveCampaign(c.Campaign)
		id := c.ID
		answered = func() {
			if cs.land(id) {
				g.Notify()
			}
		}
	}
	slot, err := g.conn.register(c.ID, answered)
	if err != nil {
		g.m.calls.WithLabelValues(mode, resultRejected).Inc()
		return notPlaced(c, start, err.Error(), 0)
	}
	defer g.conn.unregister(c.ID)

	deadline := start.Add(g.maxWaitFor(queue))
	res, why := waitOK, ""
	switch {
	case mode == ModeAgentless:
	case mode == ModePreview:
		res, why = g.waitPreview(ctx, c, queue, slot, deadline)
	case cs != nil:
		res, why = g.waitPredictive(ctx, c, queue, slot, cs, deadline)
	default: // progressive, or predictive without a pacer
		res, why = g.waitAgent(ctx, c, queue, slot, deadline)
	}
	switch res {
	case waitTimeout:
		g.m.calls.WithLabelValues(mode, resultRequeued).Inc()
		g.log.Debug("call requeued", "call_id", c.ID, "mode", mode, "queue", queue, "why", why)
		return notPlaced(c, start, why, g.requeue)
	case waitCancelled:
		g.m.calls.WithLabelValues(mode, resultCancelled).Inc()
		return notPlaced(c, start, fmt.Sprintf("%s: %s: %v", dialer.DetailCancelled, why, context.Cause(ctx)), 0)
	case waitClosed:
		g.m.calls.WithLabelValues(mode, resultCancelled).Inc()
		return notPlaced(c, start, fmt.Sprintf("%s: agent gate closed while %s", dialer.DetailNotRunning, why), 0)
	}
	g.m.calls.WithLabelValues(mode, resultDialed).Inc()
	if mode != ModeAgentless {
		g.m.wait.WithLabelValues(mode, g.m.queues.get(queue)).Observe(g.clock.Now().Sub(start).Seconds())
	}

	out := g.d.Dial(ctx, c)

	if cs != nil && cs.land(c.ID) {
		g.Notify()
	}
	if agent := g.conn.finish(slot); agent != "" {
		out.Agent = agent
	}
	g.account(c, mode, out)
	return out
}

// waitAgent reserves an agent for a progressive call, waiting for one.
func (g *Gate) waitAgent(ctx context.Context, c dialer.Call, queue string, slot *callSlot, deadline time.Time) (waitResult, string) {
	res := g.wait(ctx, deadline, func(now time.Time) bool {
		h, err := g.roster.reserveHold(queue, c.Owner, now)
		if err != nil {
			return false
		}
		slot.setHold(h)
		return true
	})
	return res, g.waitWhy(res, queue)
}

// waitWhy words a failed wait for an agent.
func (g *Gate) waitWhy(res waitResult, queue string) string {
	if res == waitTimeout {
		return fmt.Sprintf("no agent free in %s after %v", queueName(queue), g.maxWaitFor(queue))
	}
	return "waiting for an agent in " + queueName(queue)
}

// account feeds a finished call to the pacer: every dial of an agent mode
// into the campaign's answer estimates, and every live answer of a call
// meant for an agent (or any connect) into the abandonment ledger.
func (g *Gate) account(c dialer.Call, mode string, out dialer.Outcome) {
	if g.pacer == nil || c.Campaign == "" || !out.Placed() {
		return
	}
	t := out.Timings
	human := out.Disposition == dialer.Human || out.Disposition == dialer.Abandoned
	if agentMode(mode) {
		o := predictive.DialOutcome{Human: human, Answered: !t.Answered.IsZero()}
		if o.Answered {
			o.TimeToAnswer = t.Answered.Sub(t.InviteSent)
		}
		g.pacer.ObserveDial(c.Campaign, o)
	}
	if human {
		// The gate's clock, the one Decide reads the ledger with.
		g.pacer.RecordLive(c.Campaign, g.clock.Now(), out.Disposition == dialer.Abandoned)
	}
}
