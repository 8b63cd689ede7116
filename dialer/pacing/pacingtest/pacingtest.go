// Package pacingtest is the conformance suite every pacing.Pacer must pass:
// per-second windows under 10× demand from several nodes, GCRA smoothing,
// bursts, channel caps, global caps, pauses, cancellation and unknown keys.
// The Redis and in-process implementations both run it.
package pacingtest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/pacing"
)

// NewPacers returns nodes pacers that share one fresh pacing state (a
// multi-node implementation returns distinct instances with distinct node
// identities on one backend; an in-process one may return the same instance
// nodes times). They must use the wall clock, and must be cleaned up with
// t.Cleanup. Slots must implement pacing.TimedSlot.
type NewPacers func(t *testing.T, limits map[string]pacing.Limits, nodes int) []pacing.Pacer

// Run runs the conformance suite: nine parallel scenarios of at most a few
// seconds each (the longest hammer a key for 2 s after its first grant).
func Run(t *testing.T, newPacers NewPacers) {
	t.Run("WindowUnderTenfoldDemand", func(t *testing.T) {
		t.Parallel()
		const cps, burst = 50, 5
		ps := newPacers(t, map[string]pacing.Limits{"trunk": {CPS: cps, Burst: burst}}, 3)
		grants := hammer(t, ps, []string{"trunk"}, 10*cps/len(ps)/5, 2*time.Second)
		times := grants["trunk"]
		l := pacing.Limits{CPS: cps, Burst: burst}
		requireWindow(t, times, l.WindowCap())
		requireGCRA(t, times, burst, l.Interval())
		// 2 s at 50/s is about 100 grants; a pacer that merely refuses
		// everything must not pass.
		require.GreaterOrEqual(t, len(times), 60, "pacer granted too little under demand")
	})

	t.Run("GlobalCPSCap", func(t *testing.T) {
		t.Parallel()
		limits := map[string]pacing.Limits{
			"a":              {CPS: 100, Burst: 10},
			"b":              {CPS: 100, Burst: 10},
			pacing.GlobalKey: {CPS: 30, Burst: 3},
		}
		ps := newPacers(t, limits, 2)
		grants := hammer(t, ps, []string{"a", "b"}, 8, 1500*time.Millisecond)
		all := append(slices.Clone(grants["a"]), grants["b"]...)
		slices.SortFunc(all, func(x, y time.Time) int { return x.Compare(y) })
		requireWindow(t, all, limits[pacing.GlobalKey].WindowCap())
		requireGCRA(t, all, 3, limits[pacing.GlobalKey].Interval())
		require.GreaterOrEqual(t, len(all), 25)
		require.NotEmpty(t, grants["a"])
		require.NotEmpty(t, grants["b"])
	})

	t.Run("BurstThenInterval", func(t *testing.T) {
		t.Parallel()
		l := pacing.Limits{CPS: 10, Burst: 4}
		ps := newPacers(t, map[string]pacing.Limits{"k": l}, 1)
		ctx := testCtx(t)
		var at []time.Time
		for range 5 {
			s, err := ps[0].Acquire(ctx, "k")
			require.NoError(t, err)
			at = append(at, grantedAt(t, s))
			s.Release()
		}
		// The burst starts back to back; the fifth waits one interval
		// from the first.
		require.Less(t, at[3].Sub(at[0]), l.Interval(), "burst of 4 should start within one interval")
		require.GreaterOrEqual(t, at[4].Sub(at[0]), l.Interval(), "fifth call came before the interval")
	})

	t.Run("ChannelCapAcrossNodes", func(t *testing.T) {
		t.Parallel()
		ps := newPacers(t, map[string]pacing.Limits{"k": {MaxChannels: 2}}, 2)
		ctx := testCtx(t)
		a, err := ps[0].Acquire(ctx, "k")
		require.NoError(t, err)
		b, err := ps[1].Acquire(ctx, "k")
		require.NoError(t, err)
		defer b.Release()
		requireBlocked(t, ps[0], "k")
		requireBlocked(t, ps[1], "k")

		got := make(chan pacing.Slot, 1)
		go func() {
			s, err := ps[1].Acquire(ctx, "k")
			if err != nil {
				s = nil
			}
			got <- s
		}()
		a.Release()
		var c pacing.Slot
		select {
		case c = <-got:
			require.NotNil(t, c, "waiter failed after a release")
		case <-ctx.Done():
			t.Fatal("waiter was not granted after a release on another node")
		}
		defer c.Release()
		a.Release() // idempotent: must not free a second slot
		requireBlocked(t, ps[0], "k")
	})

	t.Run("GlobalChannelCap", func(t *testing.T) {
		t.Parallel()
		ps := newPacers(t, map[string]pacing.Limits{
			"a":              {MaxChannels: 5},
			"b":              {MaxChannels: 5},
			pacing.GlobalKey: {MaxChannels: 3},
		}, 1)
		ctx := testCtx(t)
		for _, k := range []string{"a", "a", "b"} {
			s, err := ps[0].Acquire(ctx, k)
			require.NoError(t, err)
			defer s.Release()
		}
		requireBlocked(t, ps[0], "b")
		requireBlocked(t, ps[0], "a")
	})

	t.Run("PauseUntil", func(t *testing.T) {
		t.Parallel()
		ps := newPacers(t, map[string]pacing.Limits{
			"k":              {CPS: 100, Burst: 1},
			"other":          {CPS: 100, Burst: 1},
			pacing.GlobalKey: {CPS: 1000, Burst: 10},
		}, 2)
		ctx := testCtx(t)
		// A first grant, so that whatever the pacer does at start is over.
		s, err := ps[0].Acquire(ctx, "other")
		require.NoError(t, err)
		s.Release()

		until := time.Now().Add(250 * time.Millisecond)
		require.NoError(t, ps[0].PauseUntil(ctx, "k", until))
		// A shorter pause later must not shorten it; a past one is a no-op.
		require.NoError(t, ps[1].PauseUntil(ctx, "k", time.Now().Add(20*time.Millisecond)))
		require.NoError(t, ps[1].PauseUntil(ctx, "k", time.Now().Add(-time.Hour)))
		// Other keys are not paused by a key's pause…
		s, err = ps[1].Acquire(ctx, "other")
		require.NoError(t, err)
		s.Release()
		require.True(t, grantedAt(t, s).Before(until), "another key waited for the pause")
		s, err = ps[1].Acquire(ctx, "k")
		require.NoError(t, err)
		s.Release()
		require.False(t, grantedAt(t, s).Before(until), "granted %v before the pause end", until.Sub(grantedAt(t, s)))

		// …but are by a global one.
		until = time.Now().Add(150 * time.Millisecond)
		require.NoError(t, ps[0].PauseUntil(ctx, pacing.GlobalKey, until))
		s, err = ps[1].Acquire(ctx, "other")
		require.NoError(t, err)
		s.Release()
		require.False(t, grantedAt(t, s).Before(until), "global pause ignored")
	})

	t.Run("CancelWhileWaiting", func(t *testing.T) {
		t.Parallel()
		ps := newPacers(t, map[string]pacing.Limits{"k": {CPS: 1000, Burst: 10, MaxChannels: 1}}, 1)
		ctx := testCtx(t)
		held, err := ps[0].Acquire(ctx, "k")
		require.NoError(t, err)
		wctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			s, err := ps[0].Acquire(wctx, "k")
			if err == nil {
				s.Release()
			}
			errc <- err
		}()
		cancel()
		select {
		case err := <-errc:
			require.ErrorIs(t, err, context.Canceled)
		case <-ctx.Done():
			t.Fatal("Acquire did not return after its context was cancelled")
		}
		held.Release()
		// The cancelled attempt must not have leaked a slot.
		s, err := ps[0].Acquire(ctx, "k")
		require.NoError(t, err)
		s.Release()
	})

	t.Run("ConcurrentTryAcquire", func(t *testing.T) {
		t.Parallel()
		limits := map[string]pacing.Limits{
			"a":              {CPS: 100, Burst: 30},                   // its window binds
			"b":              {CPS: 1000, Burst: 100, MaxChannels: 6}, // its channels bind
			pacing.GlobalKey: {CPS: 300, Burst: 60, MaxChannels: 10},
		}
		ps := newPacers(t, limits, 2)
		if _, ok := ps[0].(TryAcquirer); !ok {
			t.Skipf("%T has no TryAcquire", ps[0])
		}
		grants := hammerTry(t, ps, limits, 8, 1200*time.Millisecond)
		for _, k := range []string{"a", "b"} {
			l := limits[k]
			requireWindow(t, grants[k], l.WindowCap())
			requireGCRA(t, grants[k], l.EffectiveBurst(), l.Interval())
		}
		all := append(slices.Clone(grants["a"]), grants["b"]...)
		slices.SortFunc(all, func(x, y time.Time) int { return x.Compare(y) })
		g := limits[pacing.GlobalKey]
		requireWindow(t, all, g.WindowCap())
		requireGCRA(t, all, g.EffectiveBurst(), g.Interval())
		require.GreaterOrEqual(t, len(all), 100, "pacer granted too little under demand")
		require.NotEmpty(t, grants["b"])
	})

	t.Run("UnknownKey", func(t *testing.T) {
		t.Parallel()
		ps := newPacers(t, map[string]pacing.Limits{"k": {CPS: 1}}, 1)
		_, err := ps[0].Acquire(testCtx(t), "nope")
		require.ErrorIs(t, err, pacing.ErrUnknownKey)
		require.ErrorIs(t, ps[0].PauseUntil(testCtx(t), "nope", time.Now().Add(time.Second)), pacing.ErrUnknownKey)
	})
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func grantedAt(t *testing.T, s pacing.Slot) time.Time {
	t.Helper()
	ts, ok := s.(pacing.TimedSlot)
	require.True(t, ok, "slot %T does not implement pacing.TimedSlot", s)
	return ts.GrantedAt()
}

// requireBlocked asserts that Acquire on key does not succeed within 100 ms.
func requireBlocked(t *testing.T, p pacing.Pacer, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s, err := p.Acquire(ctx, key)
	if err == nil {
		s.Release()
		t.Fatalf("Acquire(%q) succeeded over the channel cap", key)
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// hammer runs perNode goroutines per pacer per key, each acquiring and
// releasing in a loop until d after the first grant (a pacer may hold calls
// back at first, e.g. Redis's warm-up), and returns the sorted grant times
// per key.
func hammer(t *testing.T, ps []pacing.Pacer, keys []string, perNode int, d time.Duration) map[string][]time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Second)
	defer cancel()
	var (
		mu        sync.Mutex
		grants    = map[string][]time.Time{}
		errs      []error
		wg        sync.WaitGroup
		firstOnce sync.Once
	)
	first := func() { firstOnce.Do(func() { time.AfterFunc(d, cancel) }) }
	for _, p := range ps {
		for _, key := range keys {
			for range perNode {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						s, err := p.Acquire(ctx, key)
						if err != nil {
							if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
								mu.Lock()
								errs = append(errs, err)
								mu.Unlock()
							}
							return
						}
						at := grantedAt(t, s)
						s.Release()
						first()
						mu.Lock()
						grants[key] = append(grants[key], at)
						mu.Unlock()
					}
				}()
			}
		}
	}
	wg.Wait()
	require.Empty(t, errs)
	for _, v := range grants {
		slices.SortFunc(v, func(x, y time.Time) int { return x.Compare(y) })
	}
	return grants
}

// TryAcquirer is a pacer that can also decide without waiting; both
// implementations are. Under concurrent TryAcquire calls a batching pacer
// makes many decisions on one key in one round trip.
type TryAcquirer interface {
	TryAcquire(ctx context.Context, key string) (pacing.Decision, error)
}

// hammerTry runs perNode goroutines per pacer per key, each calling
// TryAcquire in a loop (past the per-key queue of Acquire, so decisions on
// one key meet in one batch) until d after the first grant, holding each
// slot for 10 to 40 ms (a short call). It checks that the slots held at once never
// exceed a key's or the global MaxChannels, and returns the sorted grant
// times per key.
func hammerTry(t *testing.T, ps []pacing.Pacer, limits map[string]pacing.Limits, perNode int, d time.Duration) map[string][]time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Second)
	defer cancel()
	var (
		mu        sync.Mutex
		grants    = map[string][]time.Time{}
		held      = map[string]int{}
		errs      []error
		wg        sync.WaitGroup
		firstOnce sync.Once
	)
	first := func() { firstOnce.Do(func() { time.AfterFunc(d, cancel) }) }
	// take counts a grant; false when it broke a channel cap.
	take := func(key string, at time.Time, delta int) bool {
		mu.Lock()
		defer mu.Unlock()
		ok := true
		for _, k := range []string{key, pacing.GlobalKey} {
			held[k] += delta
			if m := limits[k].MaxChannels; m > 0 && held[k] > m {
				ok = false
			}
		}
		if delta > 0 {
			grants[key] = append(grants[key], at)
		}
		return ok
	}
	for _, p := range ps {
		tp := p.(TryAcquirer)
		for key := range limits {
			if key == pacing.GlobalKey {
				continue
			}
			for g := range perNode {
				wg.Add(1)
				go func() {
					defer wg.Done()
					hold := time.Duration(10+10*(g%4)) * time.Millisecond
					for ctx.Err() == nil {
						dec, err := tp.TryAcquire(ctx, key)
						if err != nil {
							if ctx.Err() == nil {
								mu.Lock()
								errs = append(errs, err)
								mu.Unlock()
							}
							return
						}
						if dec.Slot == nil {
							// Come back soon, but not in a busy loop.
							time.Sleep(min(max(dec.Wait, time.Millisecond), 3*time.Millisecond))
							continue
						}
						first()
						if !take(key, grantedAt(t, dec.Slot), 1) {
							mu.Lock()
							errs = append(errs, errors.New("more slots held than MaxChannels on "+key))
							mu.Unlock()
						}
						time.Sleep(hold)
						// Uncount before releasing: the count never
						// exceeds what the pacer holds.
						take(key, time.Time{}, -1)
						dec.Slot.Release()
					}
				}()
			}
		}
	}
	wg.Wait()
	require.Empty(t, errs)
	for _, v := range grants {
		slices.SortFunc(v, func(x, y time.Time) int { return x.Compare(y) })
	}
	return grants
}

// requireWindow asserts that no half-open 1-second window [t, t+1s) holds
// more than limit of the sorted grant times.
func requireWindow(t *testing.T, times []time.Time, limit int) {
	t.Helper()
	j := 0
	for i := range times {
		for j < len(times) && times[j].Sub(times[i]) < pacing.Window {
			j++
		}
		if n := j - i; n > limit {
			t.Fatalf("%d grants in the 1 s window starting %s (limit %d)", n, times[i].Format("15:04:05.000000"), limit)
		}
	}
}

// requireGCRA asserts the GCRA bound: between any two grants t_i ≤ t_j at
// most burst + (t_j - t_i)/interval grants.
func requireGCRA(t *testing.T, times []time.Time, burst int, interval time.Duration) {
	t.Helper()
	for i := range times {
		for j := i; j < len(times); j++ {
			allowed := burst + int(times[j].Sub(times[i])/interval)
			if n := j - i + 1; n > allowed {
				t.Fatalf("%d grants in %v (GCRA allows %d)", n, times[j].Sub(times[i]), allowed)
			}
		}
	}
}
