package dialer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/pacing"
)

// These tests run the orchestration over the real in-process pacer: the
// channel slot is held for the whole call and a 503's Retry-After stops
// the next call.

func TestRealPacerHoldsChannelUntilHangup(t *testing.T) {
	t.Parallel()
	pacer, err := pacing.NewLocal(nil, map[string]pacing.Limits{trunkName: {CPS: 1000, Burst: 10, MaxChannels: 1}}, pacing.LocalOptions{})
	require.NoError(t, err)
	h := newHarness(t, humanScript(t), func(o *Options) { o.Pacer = pacer })
	c := baseCall()
	c.OnHuman = HumanAction{Kind: HumanMessage, Audio: tone(440, 500*time.Millisecond, 4000)}
	var wg sync.WaitGroup
	outs := make([]Outcome, 3)
	for i := range outs {
		wg.Go(func() { outs[i] = h.d.Dial(context.Background(), c) })
	}
	wg.Wait()
	for i, a := range outs {
		require.Equal(t, Human, a.Disposition, a.Detail)
		for j, b := range outs {
			if i == j {
				continue
			}
			// One channel: no two calls are ever up at the same time.
			overlap := a.Timings.InviteSent.Before(b.Timings.Hangup) && b.Timings.InviteSent.Before(a.Timings.Hangup)
			require.False(t, overlap, "calls %d and %d overlap with max_channels 1", i, j)
		}
	}
}

func TestRealPacerPausesTrunkAfter503(t *testing.T) {
	t.Parallel()
	pacer, err := pacing.NewLocal(nil, map[string]pacing.Limits{trunkName: {CPS: 1000, Burst: 10}}, pacing.LocalOptions{})
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		calls int
	)
	h := newHarness(t, func(l *fakeLeg) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			l.reject(Failed, 503, "Service Unavailable", 400*time.Millisecond)
			return
		}
		l.reject(Busy, 486, "Busy Here", 0)
	}, func(o *Options) { o.Pacer = pacer })
	first := h.d.Dial(context.Background(), baseCall())
	require.Equal(t, Failed, first.Disposition)
	second := h.d.Dial(context.Background(), baseCall())
	require.Equal(t, Busy, second.Disposition)
	gap := second.Timings.InviteSent.Sub(first.Timings.Hangup)
	require.GreaterOrEqual(t, gap, 350*time.Millisecond, "the trunk was paused for the Retry-After")
}
