package agents

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// This file holds the doubles of the gate tests: a manual clock, a leg, an
// inner connector that records bridges, and a scripted dialer that calls the
// connector on a human answer the way dialer.Dialer does.

// manualClock is a Clock that moves only when told to.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []manualTimer
}

type manualTimer struct {
	at time.Time
	ch chan time.Time
}

func newManualClock(at time.Time) *manualClock { return &manualClock{now: at} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, manualTimer{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers that fall due.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.ch <- c.now
	}
	c.timers = kept
}

// Pending counts timers not yet fired: how many waits are under way.
func (c *manualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// waitPending polls until n timers are pending: the calls under test are
// waiting in the gate.
func waitPending(t *testing.T, c *manualClock, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return c.Pending() >= n }, 5*time.Second, time.Millisecond, "want %d waits pending", n)
}

// testLeg is an answered leg that lasts until end.
type testLeg struct {
	events chan dialer.Event
	done   chan struct{}
	once   sync.Once
}

func newTestLeg() *testLeg {
	return &testLeg{events: make(chan dialer.Event, 4), done: make(chan struct{})}
}

func (l *testLeg) Events() <-chan dialer.Event { return l.events }
func (l *testLeg) Play(context.Context, []int16) (time.Duration, error) {
	return 0, nil
}
func (l *testLeg) Hangup(context.Context) error { l.end(); return nil }
func (l *testLeg) Done() <-chan struct{}        { return l.done }
func (l *testLeg) Result() dialer.LegResult {
	return dialer.LegResult{Answered: true, SIPCode: 200, SIPReason: "OK"}
}

func (l *testLeg) end() {
	l.once.Do(func() {
		close(l.events)
		close(l.done)
	})
}

// recConnector is the inner connector: it records the destinations bridged.
type recConnector struct {
	mu    sync.Mutex
	dests []string
	err   error
}

func (r *recConnector) Connect(_ context.Context, _ dialer.Leg, c dialer.Call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dests = append(r.dests, c.OnHuman.Destination)
	return r.err
}

func (r *recConnector) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.dests...)
}

// Far-end behaviours of the scripted dialer.
const (
	farBusy     = "busy"
	farNoAnswer = "no_answer"
	farMachine  = "machine"
	farHuman    = "human"
)

// scriptDialer stands for dialer.Dialer: behave says what the far end does
// (it may block, as a ringing phone does); on a human answer it calls the
// connector with the legal 2 s deadline and reports abandoned when that
// fails, then talk runs while the bridge is up.
type scriptDialer struct {
	conn   dialer.Connector
	clock  *manualClock
	behave func(c dialer.Call) string
	talk   func(c dialer.Call)
	ending func(c dialer.Call) // just before the call ends

	mu    sync.Mutex
	calls []dialer.Call
}

func (s *scriptDialer) Dial(ctx context.Context, c dialer.Call) dialer.Outcome {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	now := s.clock.Now()
	out := dialer.Outcome{CallID: c.ID, To: c.To, Trunk: c.Trunk, CallerID: c.CallerID,
		Timings: dialer.Timings{Queued: now, InviteSent: now}}
	var leg *testLeg
	b := farBusy
	if s.behave != nil {
		b = s.behave(c)
	}
	switch b {
	case farBusy:
		out.Disposition, out.SIPCode = dialer.Busy, 486
	case farNoAnswer:
		out.Disposition, out.SIPCode = dialer.NoAnswer, 487
	case farMachine:
		out.Timings.Answered = s.clock.Now()
		out.Disposition = dialer.Machine
	case farHuman:
		out.Timings.Answered = s.clock.Now()
		leg = newTestLeg()
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.conn.Connect(cctx, leg, c)
		cancel()
		if err != nil {
			out.Disposition, out.Detail = dialer.Abandoned, "abandoned: connect: "+err.Error()
		} else {
			out.Disposition, out.ConnectedMS = dialer.Human, 1
			if s.talk != nil {
				s.talk(c)
			}
		}
	}
	if s.ending != nil {
		s.ending(c)
	}
	if leg != nil {
		leg.end()
	}
	out.Timings.Hangup = s.clock.Now()
	return out
}

func (s *scriptDialer) placed() []dialer.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dialer.Call(nil), s.calls...)
}

var g0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// gateEnv is a roster of agents in queue "sales", a connector, a scripted
// dialer and a gate, on a manual clock.
type gateEnv struct {
	clock  *manualClock
	roster *Roster
	inner  *recConnector
	conn   *QueueConnector
	sd     *scriptDialer
	gate   *Gate
	reg    *prometheus.Registry
}

type envConfig struct {
	roster Options
	gate   GateOptions
}

// newGateEnv builds the environment with the agents logged in (available,
// idle since login, in the order given); tweak adjusts the options.
func newGateEnv(t *testing.T, agentIDs []string, tweak ...func(*envConfig)) *gateEnv {
	t.Helper()
	cfg := envConfig{roster: Options{DefaultWrapUp: -1}}
	for _, f := range tweak {
		f(&cfg)
	}
	e := &gateEnv{clock: newManualClock(g0), inner: &recConnector{}, reg: prometheus.NewRegistry()}
	var err error
	e.roster, err = NewRoster(cfg.roster)
	require.NoError(t, err)
	for i, id := range agentIDs {
		require.NoError(t, e.roster.Add(Agent{ID: id, Name: "Agent " + id, Destination: "sip:" + id + "@pbx", Queues: []string{"sales"}}))
		require.NoError(t, e.roster.Login(id, g0.Add(time.Duration(i-len(agentIDs))*time.Second)))
	}
	e.conn, err = NewQueueConnector(ConnectorOptions{Roster: e.roster, Inner: e.inner, Clock: e.clock, Registerer: e.reg})
	require.NoError(t, err)
	e.sd = &scriptDialer{conn: e.conn, clock: e.clock}
	opts := cfg.gate
	opts.Dialer, opts.Connector, opts.Registerer = e.sd, e.conn, e.reg
	e.gate, err = NewGate(opts)
	require.NoError(t, err)
	return e
}

func (e *gateEnv) state(t *testing.T, id string) State {
	t.Helper()
	st, err := e.roster.Get(id, e.clock.Now())
	require.NoError(t, err)
	return st.State
}

// dialAsync runs Dial in a goroutine; the channel gets its outcome.
func (e *gateEnv) dialAsync(ctx context.Context, c dialer.Call) <-chan dialer.Outcome {
	ch := make(chan dialer.Outcome, 1)
	go func() { ch <- e.gate.Dial(ctx, c) }()
	return ch
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		require.FailNow(t, "nothing received within 10 s")
	}
	var zero T
	return zero
}

// salesCall is a call of mode for queue sales.
func salesCall(id, mode string) dialer.Call {
	return dialer.Call{
		ID: id, To: "+15550001111", Trunk: "t1", CallerID: "+15550009999",
		Mode: mode, Queue: "sales", Campaign: "cad-1",
		ContactName: "Ada Lovelace", Script: "Say hi",
		OnHuman: dialer.HumanAction{Kind: dialer.HumanConnect, Destination: "queue:sales"},
	}
}
