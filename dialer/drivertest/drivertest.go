// Package drivertest is the one scenario suite every dialer.Driver must pass
// (the native SIP driver against the carrier simulator, the ARI driver
// against the fake Asterisk, and a real Asterisk when one is configured), so
// that a call gives the same disposition whichever way it is placed.
package drivertest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
)

// Behaviour is what the far end of a test number does.
type Behaviour string

// The behaviours every environment must offer a number for.
const (
	// Human answers, says a short hello, and stays on until we hang up.
	Human Behaviour = "human"
	// HangsUp answers, says something short, and hangs up by itself.
	HangsUp Behaviour = "hangs_up"
	// Busy answers 486 / Q.850 17.
	Busy Behaviour = "busy"
	// NoAnswer rings until we give up.
	NoAnswer Behaviour = "no_answer"
	// Invalid is an unallocated number (404 / Q.850 1).
	Invalid Behaviour = "invalid"
	// Rejected declines (603 / Q.850 21).
	Rejected Behaviour = "rejected"
	// Failure is a trunk or network failure (503 / Q.850 34).
	Failure Behaviour = "failure"
)

// FarEndCall is what the far end saw of a call (from its own log).
type FarEndCall struct {
	Answered bool
	// HungUpBy is "us" or "far_end".
	HungUpBy string
	// MessageMS is how much non-silent audio we sent it.
	MessageMS int
}

// Env is one driver wired to a far end.
type Env struct {
	Driver dialer.Driver
	Trunk  string
	// Number returns a destination with the given behaviour.
	Number func(b Behaviour) string
	// FarEnd looks up the far end's record of the last call to a number; it
	// may take a moment to appear. nil when the far end keeps no log (a real
	// Asterisk): those checks are then skipped.
	FarEnd func(to string) (FarEndCall, bool)
}

// Run runs every scenario against environments made by newEnv (one per
// scenario, so they run in parallel).
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	unanswered := []struct {
		b    Behaviour
		want dialer.Disposition
		ring time.Duration
	}{
		{Busy, dialer.Busy, 5 * time.Second},
		{Invalid, dialer.InvalidNumber, 5 * time.Second},
		{Rejected, dialer.Rejected, 5 * time.Second},
		{Failure, dialer.Failed, 5 * time.Second},
		{NoAnswer, dialer.NoAnswer, time.Second},
	}
	for _, tc := range unanswered {
		t.Run(string(tc.b), func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			c := place(t, env, tc.b, tc.ring)
			res := c.wait(t)
			require.False(t, res.Answered, "%s must not be answered", tc.b)
			require.Equal(t, tc.want, res.Disposition, "detail: %s", res.Detail)
			require.NotContains(t, c.events(), dialer.EventAnswered)
			require.Equal(t, dialer.EventHangup, c.last())
			require.False(t, res.Timings.Hangup.IsZero())
		})
	}

	t.Run("human_audio_both_ways", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t)
		c := place(t, env, Human, 10*time.Second)
		c.waitAnswered(t)
		require.Eventually(t, func() bool { return c.samples.Load() >= 2400 }, 5*time.Second, 10*time.Millisecond,
			"the callee's hello reaches OnAudio as 8 kHz PCM")
		played, err := c.leg.Play(context.Background(), tone(600, 400*time.Millisecond))
		require.NoError(t, err)
		require.InDelta(t, 400, played.Milliseconds(), 20)
		require.NoError(t, c.leg.Hangup(context.Background()))
		res := c.wait(t)
		require.True(t, res.Answered)
		require.Empty(t, res.Disposition, "an answered call's disposition is AMD's to decide")
		require.Equal(t, "us", res.HangupBy)
		require.False(t, res.Timings.Answered.IsZero())
		if env.FarEnd == nil {
			return
		}
		require.Eventually(t, func() bool {
			fe, ok := env.FarEnd(c.to)
			return ok && fe.Answered && fe.HungUpBy == "us" && fe.MessageMS >= 300
		}, 5*time.Second, 20*time.Millisecond, "the far end heard our 400 ms tone and our hangup")
	})

	t.Run("far_end_hangs_up", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t)
		c := place(t, env, HangsUp, 10*time.Second)
		res := c.wait(t)
		require.True(t, res.Answered)
		require.Equal(t, "far_end", res.HangupBy)
		_, err := c.leg.Play(context.Background(), tone(600, 100*time.Millisecond))
		require.Error(t, err, "no playing into a finished call")
		require.NoError(t, c.leg.Hangup(context.Background()), "hangup after the end is a no-op")
	})

	t.Run("hangup_while_ringing", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t)
		c := place(t, env, NoAnswer, 30*time.Second)
		require.Eventually(t, func() bool { return len(c.events()) >= 1 }, 5*time.Second, 10*time.Millisecond)
		require.NoError(t, c.leg.Hangup(context.Background()))
		res := c.wait(t)
		require.False(t, res.Answered)
		require.Contains(t, []dialer.Disposition{dialer.NoAnswer, dialer.Unknown}, res.Disposition, res.Detail)
	})

	t.Run("concurrent_calls", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t)
		const n = 20
		var wg sync.WaitGroup
		results := make([]dialer.LegResult, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := []Behaviour{Busy, Invalid, Rejected, Failure}[i%4]
				c := place(t, env, b, 5*time.Second)
				results[i] = c.wait(t)
			}()
		}
		wg.Wait()
		want := []dialer.Disposition{dialer.Busy, dialer.InvalidNumber, dialer.Rejected, dialer.Failed}
		for i, r := range results {
			require.Equal(t, want[i%4], r.Disposition, "call %d", i)
		}
	})
}

type call struct {
	to      string
	leg     dialer.Leg
	samples atomic.Int64
	mu      sync.Mutex
	evs     []dialer.EventType
	done    chan struct{}
}

func place(t *testing.T, env Env, b Behaviour, ring time.Duration) *call {
	t.Helper()
	c := &call{to: env.Number(b), done: make(chan struct{})}
	leg, err := env.Driver.Originate(context.Background(), dialer.OriginateRequest{
		CallID:      "drivertest-" + string(b),
		Trunk:       env.Trunk,
		To:          c.to,
		From:        "+15557770000",
		RingTimeout: ring,
		OnAudio:     func(s []int16) { c.samples.Add(int64(len(s))) },
	})
	require.NoError(t, err, "originate %s", b)
	c.leg = leg
	go func() {
		defer close(c.done)
		for ev := range leg.Events() {
			c.mu.Lock()
			c.evs = append(c.evs, ev.Type)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *call) events() []dialer.EventType {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]dialer.EventType(nil), c.evs...)
}

func (c *call) last() dialer.EventType {
	evs := c.events()
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1]
}

func (c *call) waitAnswered(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, e := range c.events() {
			if e == dialer.EventAnswered {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "call to %s answered", c.to)
}

func (c *call) wait(t *testing.T) dialer.LegResult {
	t.Helper()
	select {
	case <-c.leg.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("call to %s did not end", c.to)
	}
	<-c.done // every event read
	return c.leg.Result()
}
