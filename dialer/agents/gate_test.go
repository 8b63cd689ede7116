package agents

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
)

func TestProgressiveReservesBeforeDialAndReleasesOnBusy(t *testing.T) {
	t.Parallel()
	for _, far := range []string{farBusy, farNoAnswer, farMachine} {
		t.Run(far, func(t *testing.T) {
			t.Parallel()
			e := newGateEnv(t, []string{"a1"})
			var during State
			e.sd.behave = func(dialer.Call) string {
				during = e.state(t, "a1")
				return far
			}
			out := e.gate.Dial(context.Background(), salesCall("c1", ModeProgressive))
			require.Equal(t, Reserved, during, "reserved before the dial")
			require.True(t, out.Placed())
			require.Equal(t, "a1", out.Agent)
			require.Equal(t, Available, e.state(t, "a1"), "released at once: no human connect")
			require.Empty(t, e.inner.got())
			require.Equal(t, 1.0, testutil.ToFloat64(e.gate.m.calls.WithLabelValues(ModeProgressive, resultDialed)))
			require.Equal(t, 1, testutil.CollectAndCount(e.gate.m.wait))
		})
	}
}

func TestProgressiveHumanConnectsReservedAgent(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"}, func(c *envConfig) { c.roster.DefaultWrapUp = 30 * time.Second })
	events, cancel, err := e.roster.Subscribe("a1")
	require.NoError(t, err)
	defer cancel()
	e.sd.behave = func(dialer.Call) string { return farHuman }
	e.sd.talk = func(dialer.Call) { require.Equal(t, OnCall, e.state(t, "a1")) }
	out := e.gate.Dial(context.Background(), salesCall("c1", ModeProgressive))
	require.Equal(t, dialer.Human, out.Disposition, out.Detail)
	require.Equal(t, "a1", out.Agent)
	require.Equal(t, []string{"sip:a1@pbx"}, e.inner.got())
	// The bridge ended: wrap-up, set by the connector's own goroutine.
	require.Eventually(t, func() bool { return e.state(t, "a1") == WrapUp }, 5*time.Second, 5*time.Millisecond)
	var connecting *Event
	for len(events) > 0 {
		ev := <-events
		if ev.Kind == EventConnecting {
			connecting = &ev
		}
	}
	require.NotNil(t, connecting)
	require.Equal(t, "connecting you to Ada Lovelace, +15550001111, script: Say hi", connecting.Text)
	require.Equal(t, "c1", connecting.CallID)
	require.Equal(t, 1.0, testutil.ToFloat64(e.conn.m.connects.WithLabelValues("sales")))
}

func TestOwnerPreferred(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, owner, want string
		setup             func(e *gateEnv)
	}{
		{name: "owner available", owner: "a3", want: "a3"},
		{name: "no owner: longest idle", want: "a1"},
		{name: "owner paused: longest idle", owner: "a3", want: "a1",
			setup: func(e *gateEnv) { require.NoError(t, e.roster.Pause("a3", e.clock.Now())) }},
		{name: "unknown owner: longest idle", owner: "zz", want: "a1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newGateEnv(t, []string{"a1", "a2", "a3"})
			if tc.setup != nil {
				tc.setup(e)
			}
			e.sd.behave = func(dialer.Call) string { return farHuman }
			c := salesCall("c1", ModeProgressive)
			c.Owner = tc.owner
			out := e.gate.Dial(context.Background(), c)
			require.Equal(t, tc.want, out.Agent)
			require.Equal(t, []string{"sip:" + tc.want + "@pbx"}, e.inner.got())
		})
	}
}

func TestProgressiveRequeuesWhenNoAgentInTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		maxWait func(string) time.Duration
		advance time.Duration
		detail  string
	}{
		{"default max wait", nil, 2 * time.Minute, "no agent free in queue sales after 2m0s"},
		{"per-queue max wait", func(q string) time.Duration {
			if q == "sales" {
				return 10 * time.Second
			}
			return 0
		}, 10 * time.Second, "no agent free in queue sales after 10s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newGateEnv(t, []string{"a1"}, func(c *envConfig) { c.gate.MaxWait = tc.maxWait })
			require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
			done := e.dialAsync(context.Background(), salesCall("c1", ModeProgressive))
			// Polls along the way find nobody; then the wait runs out.
			// Each step waits for the gate to arm its next poll: a
			// timer armed after a later Advance would be set past the
			// end of the test's clock and never fire.
			for range int(tc.advance / time.Second) {
				waitPending(t, e.clock, 1)
				e.clock.Advance(time.Second)
			}
			out := recv(t, done)
			require.Equal(t, dialer.Failed, out.Disposition)
			require.False(t, out.Placed())
			require.Equal(t, DefaultRequeueDelay, out.Requeue)
			require.Equal(t, tc.detail, out.Detail)
			require.Empty(t, out.Agent)
			require.Empty(t, e.sd.placed())
			require.Equal(t, 1.0, testutil.ToFloat64(e.gate.m.calls.WithLabelValues(ModeProgressive, resultRequeued)))
		})
	}
}

func TestProgressiveDialsWhenAnAgentFrees(t *testing.T) {
	t.Parallel()
	t.Run("notify", func(t *testing.T) {
		t.Parallel()
		e := newGateEnv(t, []string{"a1"})
		require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
		done := e.dialAsync(context.Background(), salesCall("c1", ModeProgressive))
		waitPending(t, e.clock, 1)
		require.NoError(t, e.roster.Resume("a1", e.clock.Now()))
		e.gate.Notify()
		out := recv(t, done)
		require.True(t, out.Placed())
		require.Equal(t, "a1", out.Agent)
	})
	t.Run("poll", func(t *testing.T) {
		t.Parallel()
		e := newGateEnv(t, []string{"a1"}, func(c *envConfig) { c.gate.RequeueDelay = 5 * time.Minute })
		require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
		done := e.dialAsync(context.Background(), salesCall("c1", ModeProgressive))
		waitPending(t, e.clock, 1)
		require.NoError(t, e.roster.Resume("a1", e.clock.Now())) // no Notify: the poll finds it
		e.clock.Advance(DefaultPollInterval)
		out := recv(t, done)
		require.Equal(t, "a1", out.Agent)
	})
	t.Run("previous call ends", func(t *testing.T) {
		t.Parallel()
		e := newGateEnv(t, []string{"a1"})
		release := make(chan struct{})
		e.sd.behave = func(c dialer.Call) string {
			if c.ID == "first" {
				<-release
			}
			return farHuman
		}
		first := e.dialAsync(context.Background(), salesCall("first", ModeProgressive))
		require.Eventually(t, func() bool { return len(e.sd.placed()) == 1 }, 5*time.Second, time.Millisecond)
		second := e.dialAsync(context.Background(), salesCall("second", ModeProgressive))
		waitPending(t, e.clock, 1)
		close(release)
		require.Equal(t, "a1", recv(t, first).Agent)
		require.Equal(t, "a1", recv(t, second).Agent, "woken by the first call's end, no clock tick")
	})
}

func TestCancelWhileWaitingLeavesNothingReserved(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1", "a2"})
	require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
	require.NoError(t, e.roster.Pause("a2", e.clock.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	done := e.dialAsync(ctx, salesCall("c1", ModeProgressive))
	waitPending(t, e.clock, 1)
	cancel()
	out := recv(t, done)
	require.False(t, out.Placed())
	require.Zero(t, out.Requeue)
	require.Contains(t, out.Detail, dialer.DetailCancelled)
	require.Contains(t, out.Detail, "waiting for an agent in queue sales")
	require.Empty(t, e.sd.placed())
	for _, s := range e.roster.List(e.clock.Now()) {
		require.NotEqual(t, Reserved, s.State, s.Agent.ID)
	}
	require.Equal(t, 1.0, testutil.ToFloat64(e.gate.m.calls.WithLabelValues(ModeProgressive, resultCancelled)))
}

func TestCloseWakesWaiters(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, nil)
	done := e.dialAsync(context.Background(), salesCall("c1", ModeProgressive))
	waitPending(t, e.clock, 1)
	e.gate.Close()
	e.gate.Close()
	out := recv(t, done)
	require.False(t, out.Placed())
	require.Contains(t, out.Detail, dialer.DetailNotRunning)
	out = e.gate.Dial(context.Background(), salesCall("c2", ModePreview))
	require.Contains(t, out.Detail, "agent gate closed")
	require.Empty(t, e.sd.placed())
}

func TestRejectsBadCalls(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"})
	c := salesCall("c1", "robocall")
	out := e.gate.Dial(context.Background(), c)
	require.Equal(t, dialer.Failed, out.Disposition)
	require.Equal(t, `mode: unknown dial mode "robocall" (want agentless, preview, progressive or predictive)`, out.Detail)

	release := make(chan struct{})
	e.sd.behave = func(dialer.Call) string { <-release; return farBusy }
	first := e.dialAsync(context.Background(), salesCall("dup", ModeProgressive))
	require.Eventually(t, func() bool { return len(e.sd.placed()) == 1 }, 5*time.Second, time.Millisecond)
	out = e.gate.Dial(context.Background(), salesCall("dup", ModeAgentless))
	require.Equal(t, `id: call "dup" is already in flight`, out.Detail)
	close(release)
	require.True(t, recv(t, first).Placed())
	require.Equal(t, 2.0, testutil.ToFloat64(e.gate.m.calls.WithLabelValues(otherMode, resultRejected))+
		testutil.ToFloat64(e.gate.m.calls.WithLabelValues(ModeAgentless, resultRejected)))

	_, err := NewGate(GateOptions{Connector: e.conn})
	require.ErrorContains(t, err, "gate options: dialer: required")
	_, err = NewGate(GateOptions{Dialer: e.sd})
	require.ErrorContains(t, err, "gate options: connector: required")
	_, err = NewQueueConnector(ConnectorOptions{Roster: e.roster})
	require.ErrorContains(t, err, "inner: required")
}

func TestAgentlessPassesThrough(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"})
	e.sd.behave = func(dialer.Call) string { return farHuman }
	c := salesCall("c1", "")
	c.OnHuman = dialer.HumanAction{Kind: dialer.HumanConnect, Destination: "sip:bot@ai.example"}
	out := e.gate.Dial(context.Background(), c)
	require.Equal(t, dialer.Human, out.Disposition)
	require.Empty(t, out.Agent)
	require.Equal(t, []string{"sip:bot@ai.example"}, e.inner.got(), "a SIP destination goes straight through")
	require.Equal(t, Available, e.state(t, "a1"))

	// A message call: nothing for the gate to do, not even an ID.
	msg := dialer.Call{To: "+15550001111", Mode: ModeAgentless, OnHuman: dialer.HumanAction{Kind: dialer.HumanMessage}}
	out = e.gate.Dial(context.Background(), msg)
	require.Empty(t, out.CallID)
}

func TestNoAgentAtHumanAnswerIsAbandoned(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"}, withPacer(t, nil))
	require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
	e.sd.behave = func(dialer.Call) string { return farHuman }
	out := e.gate.Dial(context.Background(), salesCall("c1", ModeAgentless)) // connect to queue:sales, nobody free
	require.Equal(t, dialer.Abandoned, out.Disposition)
	require.Contains(t, out.Detail, `connect to queue sales: reserve in queue "sales": no agent available`)
	require.Empty(t, out.Agent)
	require.Empty(t, e.inner.got())
	require.Equal(t, 1.0, testutil.ToFloat64(e.conn.m.abandons.WithLabelValues("sales")))
	ab, live, _ := e.gate.pacer.Ledger().Rate("cad-1", e.clock.Now())
	require.Equal(t, 1, ab)
	require.Equal(t, 1, live)
}

func TestFailedBridgeReturnsAgentToAvailable(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"}, func(c *envConfig) { c.roster.DefaultWrapUp = 30 * time.Second })
	e.inner.err = errors.New("486 agent phone busy")
	before := e.roster.Stats("sales", e.clock.Now(), 0).MeanHandle
	e.sd.behave = func(dialer.Call) string { return farHuman }
	out := e.gate.Dial(context.Background(), salesCall("c1", ModeProgressive))
	require.Equal(t, dialer.Abandoned, out.Disposition)
	require.Contains(t, out.Detail, "connect agent a1 (sip:a1@pbx): 486 agent phone busy")
	require.Equal(t, "a1", out.Agent)
	require.Equal(t, Available, e.state(t, "a1"), "no wrap-up after a bridge that never happened")
	require.Equal(t, before, e.roster.Stats("sales", e.clock.Now(), 0).MeanHandle, "no zero-length call in the handle time")
	require.Equal(t, 1.0, testutil.ToFloat64(e.conn.m.abandons.WithLabelValues("sales")))
}

func TestPreviewAcceptDialsToThatAgent(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1", "a2"})
	ev1, cancel1, err := e.roster.Subscribe("a1")
	require.NoError(t, err)
	defer cancel1()
	ev2, cancel2, err := e.roster.Subscribe("a2")
	require.NoError(t, err)
	defer cancel2()
	e.sd.behave = func(dialer.Call) string { return farHuman }
	done := e.dialAsync(context.Background(), salesCall("c1", ModePreview))

	p := nextOf(t, ev2, EventPrompt).Prompt
	require.Equal(t, []string{"a1", "a2"}, p.Offered)
	require.True(t, p.Info.Reserve)
	require.Equal(t, "c1", p.Info.CallID)
	require.Equal(t, "Ada Lovelace, +15550001111", p.Info.Contact)
	require.Equal(t, "Say hi", p.Info.Script)
	require.Empty(t, e.sd.placed(), "nothing is dialed before an agent accepts")

	a, _, err := e.roster.AcceptPrompt(p.ID, "a2", e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "a2", a.ID)
	out := recv(t, done)
	require.Equal(t, dialer.Human, out.Disposition, out.Detail)
	require.Equal(t, "a2", out.Agent)
	require.Equal(t, []string{"sip:a2@pbx"}, e.inner.got())
	require.Equal(t, "prompt "+p.ID+" taken by a2", nextOf(t, ev1, EventPromptClosed).Text)
}

func TestPreviewOffersOnlyTheAvailableOwner(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1", "a2"})
	ev, cancel, err := e.roster.Subscribe("a2")
	require.NoError(t, err)
	defer cancel()
	e.sd.behave = func(dialer.Call) string { return farBusy }
	c := salesCall("c1", ModePreview)
	c.Owner = "a2"
	done := e.dialAsync(context.Background(), c)
	p := nextOf(t, ev, EventPrompt).Prompt
	require.Equal(t, []string{"a2"}, p.Offered)
	_, err = e.roster.Accept(p.ID, "a1", e.clock.Now())
	require.ErrorIs(t, err, ErrNotOffered)
	_, err = e.roster.Accept(p.ID, "a2", e.clock.Now())
	require.NoError(t, err)
	out := recv(t, done)
	require.Equal(t, dialer.Busy, out.Disposition)
	require.Equal(t, "a2", out.Agent)
	require.Equal(t, Available, e.state(t, "a2"), "released after the busy")
}

func TestPreviewExpiryRequeues(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"}, func(c *envConfig) { c.gate.PromptTTL = 30 * time.Second })
	ev, cancel, err := e.roster.Subscribe("a1")
	require.NoError(t, err)
	defer cancel()
	done := e.dialAsync(context.Background(), salesCall("c1", ModePreview))
	p := nextOf(t, ev, EventPrompt).Prompt
	waitPending(t, e.clock, 1) // the prompt's expiry
	e.clock.Advance(30 * time.Second)
	out := recv(t, done)
	require.False(t, out.Placed())
	require.Equal(t, DefaultRequeueDelay, out.Requeue)
	require.Equal(t, "no agent of queue sales accepted the preview within 30s", out.Detail)
	_, err = e.roster.Accept(p.ID, "a1", e.clock.Now())
	require.ErrorIs(t, err, ErrPromptExpired)
	require.Equal(t, Available, e.state(t, "a1"))
	require.Empty(t, e.sd.placed())
}

func TestPreviewCancelWithdrawsTheOffer(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"})
	ev, cancelSub, err := e.roster.Subscribe("a1")
	require.NoError(t, err)
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	done := e.dialAsync(ctx, salesCall("c1", ModePreview))
	p := nextOf(t, ev, EventPrompt).Prompt
	cancel()
	out := recv(t, done)
	require.False(t, out.Placed())
	require.Contains(t, out.Detail, "waiting for an agent to accept the preview in queue sales")
	_, err = e.roster.Accept(p.ID, "a1", e.clock.Now())
	require.ErrorIs(t, err, ErrPromptExpired, "a withdrawn offer cannot be taken")
	require.Equal(t, Available, e.state(t, "a1"))
}

func TestPreviewWaitsForSomeoneToOfferTo(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"})
	require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
	ev, cancel, err := e.roster.Subscribe("a1")
	require.NoError(t, err)
	defer cancel()
	done := e.dialAsync(context.Background(), salesCall("c1", ModePreview))
	waitPending(t, e.clock, 1)
	e.clock.Advance(2 * time.Minute)
	out := recv(t, done)
	require.Equal(t, "no agent free in queue sales after 2m0s", out.Detail)
	require.Equal(t, DefaultRequeueDelay, out.Requeue)
	for len(ev) > 0 {
		require.NotEqual(t, EventPrompt, (<-ev).Kind)
	}
}

// Many calls, few agents: an agent is never reserved for, or connected to,
// two calls at once, and every call gets one in the end.
func TestConcurrentProgressiveNeverSharesAnAgent(t *testing.T) {
	t.Parallel()
	const calls, agents = 500, 20
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = fmt.Sprintf("a%02d", i)
	}
	e := newGateEnv(t, ids)
	var mu sync.Mutex
	busy := map[string]string{}
	var clash []string
	e.sd.behave = func(c dialer.Call) string {
		agent := e.conn.slot(c.ID).agent()
		mu.Lock()
		if other, ok := busy[agent]; ok || agent == "" {
			clash = append(clash, fmt.Sprintf("%s: agent %q already on %s", c.ID, agent, other))
		}
		busy[agent] = c.ID
		mu.Unlock()
		if c.To == "+15550000001" {
			return farHuman
		}
		return farBusy
	}
	e.sd.talk = func(c dialer.Call) {
		agent := e.conn.slot(c.ID).agent()
		if st, err := e.roster.Get(agent, e.clock.Now()); err != nil || st.State != OnCall {
			mu.Lock()
			clash = append(clash, fmt.Sprintf("%s: agent %q not on call while talking", c.ID, agent))
			mu.Unlock()
		}
	}
	e.sd.ending = func(c dialer.Call) { // before the agent is released or hung up
		mu.Lock()
		delete(busy, e.conn.slot(c.ID).agent())
		mu.Unlock()
	}
	// A bound, should the gate ever strand a call (the clock never moves).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan dialer.Outcome, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := salesCall(fmt.Sprintf("c%03d", i), ModeProgressive)
			c.To = fmt.Sprintf("+1555000000%d", i%2)
			done <- e.gate.Dial(ctx, c)
		}()
	}
	wg.Wait()
	close(done)
	n := 0
	for out := range done {
		n++
		require.True(t, out.Placed(), out.Detail)
		require.NotEmpty(t, out.Agent)
	}
	require.Equal(t, calls, n)
	require.Empty(t, clash)
	require.Len(t, e.inner.got(), calls/2)
	for _, s := range e.roster.List(e.clock.Now()) {
		require.Equal(t, Available, s.State, s.Agent.ID)
	}
}

// nextOf reads events until one of kind arrives.
func nextOf(t *testing.T, ch <-chan Event, kind EventKind) Event {
	t.Helper()
	for {
		ev := recv(t, ch)
		if ev.Kind == kind {
			return ev
		}
	}
}
