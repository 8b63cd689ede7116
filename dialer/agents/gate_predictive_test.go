package agents

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/dialer/predictive"
)

// withPacer gives the gate a predictive pacer; seed may prepare it.
func withPacer(t *testing.T, seed func(p *predictive.Pacer)) func(*envConfig) {
	t.Helper()
	p, err := predictive.NewPacer(predictive.Config{}, predictive.Estimates{}, predictive.NewLedger(), nil)
	require.NoError(t, err)
	if seed != nil {
		seed(p)
	}
	return func(c *envConfig) { c.gate.Pacer = p }
}

// seasoned is a campaign with a budget (1000 live answers, no abandons) and
// a low human-answer rate: the pacer dials ahead of its agents.
func seasoned(p *predictive.Pacer) {
	for range 1000 {
		p.Ledger().Record("cad-1", g0.Add(-time.Hour), false)
	}
	for i := range 300 {
		human := i%10 == 0
		p.ObserveDial("cad-1", predictive.DialOutcome{Human: human, Answered: human, TimeToAnswer: 10 * time.Second})
	}
}

func TestPredictiveRespectsPacerTargetAndRecordsLiveAnswers(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1", "a2"}, withPacer(t, seasoned))
	d := e.gate.pacer.Decide("cad-1", g0, predictive.Predictive, predictive.Agents{Available: 2}, nil)
	require.Equal(t, predictive.Predictive, d.Mode, d.Reason)
	require.Greater(t, d.Target, 2, "the test needs a pacer that dials ahead of its agents")
	target := d.Target

	fates := make(chan string)
	var ringing atomic.Int32
	e.sd.behave = func(dialer.Call) string {
		ringing.Add(1)
		defer ringing.Add(-1)
		return <-fates
	}
	talking := make(chan struct{})
	e.sd.talk = func(dialer.Call) { <-talking }

	calls := target + 3
	outs := make(chan dialer.Outcome, calls)
	for i := range calls {
		go func() { outs <- e.gate.Dial(context.Background(), salesCall(fmt.Sprintf("c%d", i), ModePredictive)) }()
	}
	// Exactly the target rings; the other three wait in the gate.
	require.Eventually(t, func() bool { return int(ringing.Load()) == target && e.clock.Pending() == 3 },
		5*time.Second, time.Millisecond)
	require.Equal(t, target, len(e.sd.placed()))
	require.Zero(t, e.roster.Stats("sales", e.clock.Now(), 0).Reserved, "predictive calls reserve no agent before the answer")

	// Three people answer: two reach the two agents, the third finds none.
	for range 3 {
		fates <- farHuman
	}
	first := recv(t, outs)
	require.Equal(t, dialer.Abandoned, first.Disposition, first.Detail)
	require.Empty(t, first.Agent)
	require.Eventually(t, func() bool { return len(e.inner.got()) == 2 }, 5*time.Second, time.Millisecond)
	close(talking)

	// The rest ring out; the waiting calls launch as capacity frees.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case fates <- farNoAnswer:
			case <-stop:
				return
			}
		}
	}()
	agents := map[string]bool{}
	for range calls - 1 {
		out := recv(t, outs)
		if out.Disposition == dialer.Human {
			agents[out.Agent] = true
		}
	}
	require.Equal(t, map[string]bool{"a1": true, "a2": true}, agents)
	ab, live, _ := e.gate.pacer.Ledger().Rate("cad-1", e.clock.Now())
	require.Equal(t, 1, ab)
	require.Equal(t, 1003, live)
	require.Len(t, e.sd.placed(), calls)
	e.gate.cmu.Lock()
	require.Empty(t, e.gate.campaigns, "no campaign state outlives its calls")
	e.gate.cmu.Unlock()
}

// A new campaign has no abandonment budget yet: the pacer falls back to
// progressive and the gate reserves an agent before each dial.
func TestPredictiveWarmupDialsProgressively(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1", "a2"}, withPacer(t, nil))
	fates := make(chan string)
	e.sd.behave = func(c dialer.Call) string {
		if e.conn.slot(c.ID).agent() == "" {
			return "no agent reserved" // fails the Busy check below
		}
		return <-fates
	}
	outs := make(chan dialer.Outcome, 4)
	for i := range 4 {
		go func() { outs <- e.gate.Dial(context.Background(), salesCall(fmt.Sprintf("c%d", i), ModePredictive)) }()
	}
	require.Eventually(t, func() bool { return len(e.sd.placed()) == 2 && e.clock.Pending() == 2 }, 5*time.Second, time.Millisecond)
	require.Equal(t, 2, e.roster.Stats("sales", e.clock.Now(), 0).Reserved)
	for range 4 {
		fates <- farBusy
	}
	for range 4 {
		out := recv(t, outs)
		require.Equal(t, dialer.Busy, out.Disposition)
		require.NotEmpty(t, out.Agent)
	}
	require.Equal(t, 2, e.roster.Stats("sales", e.clock.Now(), 0).Available)
}

func TestPredictiveRequeuesWithoutCapacity(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"}, withPacer(t, seasoned))
	require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
	done := e.dialAsync(context.Background(), salesCall("c1", ModePredictive))
	waitPending(t, e.clock, 1)
	e.clock.Advance(2 * time.Minute)
	out := recv(t, done)
	require.False(t, out.Placed())
	require.Equal(t, DefaultRequeueDelay, out.Requeue)
	require.Equal(t, "no predictive capacity in queue sales for campaign cad-1 after 2m0s (pacer: no_agents)", out.Detail)
}

// Every dial of an agent mode feeds the human-answer estimate.
func TestGateFeedsPacerEstimates(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"}, withPacer(t, nil))
	before, _ := e.gate.pacer.HumanRate("cad-1")
	e.sd.behave = func(dialer.Call) string { return farHuman }
	require.Equal(t, dialer.Human, e.gate.Dial(context.Background(), salesCall("c1", ModeProgressive)).Disposition)
	after, _ := e.gate.pacer.HumanRate("cad-1")
	require.Greater(t, after, before)
	e.sd.behave = func(dialer.Call) string { return farMachine }
	e.gate.Dial(context.Background(), salesCall("c2", ModeProgressive))
	last, _ := e.gate.pacer.HumanRate("cad-1")
	require.Less(t, last, after)
	ab, live, _ := e.gate.pacer.Ledger().Rate("cad-1", e.clock.Now())
	require.Equal(t, 0, ab)
	require.Equal(t, 1, live, "only the human answer is a live answer")
}

func TestPredictiveCancelLeavesNothingInFlight(t *testing.T) {
	t.Parallel()
	e := newGateEnv(t, []string{"a1"}, withPacer(t, seasoned))
	require.NoError(t, e.roster.Pause("a1", e.clock.Now()))
	ctx, cancel := context.WithCancel(context.Background())
	done := e.dialAsync(ctx, salesCall("c1", ModePredictive))
	waitPending(t, e.clock, 1)
	cancel()
	out := recv(t, done)
	require.False(t, out.Placed())
	require.Contains(t, out.Detail, "cancelled before placing: waiting for predictive capacity in queue sales")
	require.Empty(t, e.sd.placed())
	e.gate.cmu.Lock()
	require.Empty(t, e.gate.campaigns)
	e.gate.cmu.Unlock()
}
