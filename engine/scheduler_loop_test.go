package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
)

// countingStore counts the scheduler's claims and next-due look-ups.
type countingStore struct {
	engine.ScheduleStore
	claims, nextDue atomic.Int64
}

func (c *countingStore) Claim(ctx context.Context, r engine.ClaimRequest, decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) ([]engine.ClaimedAction, error) {
	c.claims.Add(1)
	return c.ScheduleStore.Claim(ctx, r, decide)
}

func (c *countingStore) NextDue(ctx context.Context) (time.Time, bool, error) {
	c.nextDue.Add(1)
	return c.ScheduleStore.NextDue(ctx)
}

// scheduleAt enrolls a new contact in cad without scheduling it, then
// schedules its call at at, returning the action's id. Nothing wakes the
// scheduler: only its own timing can find the action.
func scheduleAt(t *testing.T, store engine.ScheduleStore, cad, phone string, at, now time.Time) string {
	t.Helper()
	ctx := t.Context()
	c, err := store.UpsertContact(ctx, engine.Contact{Phone: phone, TimeZone: "America/New_York"}, now)
	require.NoError(t, err)
	en, err := store.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad, ContactID: c.ID}, now)
	require.NoError(t, err)
	a, err := store.InsertAction(ctx, engine.NewAction{EnrollmentID: en.ID, Step: 1, Type: engine.StepCall, DueAt: at}, nil, now)
	require.NoError(t, err)
	return a.ID
}

// With an hour-long poll, actions due 30 ms and 60 ms ahead go out at
// their due times: the loop sleeps until the next due time, and after a
// non-empty claim it looks for the next one instead of waiting a poll.
func TestSchedulerSleepsUntilNextDue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := newMemStore(t)
	real0 := time.Now()
	now := func() time.Time { return benchStart.Add(time.Since(real0)) }
	d := &handoffDialer{now: now, at: map[string]time.Time{}}
	e, err := engine.New(engine.Options{Store: store, Now: now, Dialer: d})
	require.NoError(t, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, now())
	require.NoError(t, err)
	due := map[string]time.Time{}
	for i, ahead := range []time.Duration{30 * time.Millisecond, 60 * time.Millisecond} {
		at := now().Add(ahead)
		due[scheduleAt(t, store, cad.ID, fmt.Sprintf("+121255501%02d", i), at, now())] = at
	}
	s := e.NewScheduler(engine.SchedulerOptions{Poll: time.Hour, RescueEvery: time.Hour})
	require.NoError(t, s.Start(ctx))
	defer s.Stop()
	require.Eventually(t, func() bool { return d.count() == 2 }, 10*time.Second, time.Millisecond,
		"the calls wait for an hour-long poll")
	s.Stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, at := range due {
		got, ok := d.at[id]
		require.True(t, ok, id)
		require.False(t, got.Before(at), "handed off %v before it was due", at.Sub(got))
		// The speed itself is measured by BenchmarkDueToHandoffPostgres;
		// here, far sooner than the poll is enough.
		require.Less(t, got.Sub(at), 5*time.Second)
	}
}

// inflightDialer holds each call for a moment and records the most calls
// it had at once.
type inflightDialer struct {
	mu       sync.Mutex
	now, max int
	calls    int
}

func (d *inflightDialer) Dial(_ context.Context, c dialer.Call) dialer.Outcome {
	d.mu.Lock()
	d.now++
	d.max = max(d.max, d.now)
	d.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // the call lasts
	d.mu.Lock()
	d.now--
	d.calls++
	d.mu.Unlock()
	return dialer.Outcome{CallID: c.ID, To: c.To, Disposition: dialer.NoAnswer}
}

// Short of slots, the loop claims again as soon as one comes free, never
// more than the free slots, and never more than Concurrency calls at once.
func TestSchedulerClaimsWhenASlotFrees(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := newMemStore(t)
	counted := &countingStore{ScheduleStore: store}
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)) // 10:00 New York
	d := &inflightDialer{}
	e, err := engine.New(engine.Options{Store: counted, Now: clock.Now, Dialer: d, Concurrency: 2, BatchSize: 50})
	require.NoError(t, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	const n = 7
	for i := range n {
		scheduleAt(t, store, cad.ID, fmt.Sprintf("+121255502%02d", i), clock.Now(), clock.Now())
	}
	s := e.NewScheduler(engine.SchedulerOptions{Poll: time.Hour, RescueEvery: time.Hour})
	require.NoError(t, s.Start(ctx))
	defer s.Stop()
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.calls == n
	}, 10*time.Second, time.Millisecond, "the loop waited for its poll instead of a free slot")
	s.Stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	require.LessOrEqual(t, d.max, 2, "more calls at once than Concurrency")
	require.GreaterOrEqual(t, counted.claims.Load(), int64(n/2), "each claim takes at most the free slots")
}

// frozenScheduler runs an engine's scheduler with an hour-long poll on a
// clock that stands still at 10:00 New York, with one call due ahead of
// it; the scheduler stops at cleanup.
func frozenScheduler(t *testing.T, ahead time.Duration) (*countingStore, *engine.SimClock, *engine.Engine, *recordingDialer) {
	t.Helper()
	ctx := t.Context()
	store := newMemStore(t)
	counted := &countingStore{ScheduleStore: store}
	clock := engine.NewSimClock(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC))
	d := &recordingDialer{}
	e, err := engine.New(engine.Options{Store: counted, Now: clock.Now, Dialer: d})
	require.NoError(t, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	scheduleAt(t, store, cad.ID, "+12125550300", clock.Now().Add(ahead), clock.Now())
	s := e.NewScheduler(engine.SchedulerOptions{Poll: time.Hour, RescueEvery: time.Hour})
	require.NoError(t, s.Start(ctx))
	t.Cleanup(s.Stop)
	return counted, clock, e, d
}

// On a clock that stands still, an action just ahead cannot fall due: the
// loop wakes for it once, then goes back to its poll instead of spinning.
func TestSchedulerNoSpinOnFrozenClock(t *testing.T) {
	t.Parallel()
	counted, _, _, _ := frozenScheduler(t, time.Millisecond)
	require.Eventually(t, func() bool { return counted.nextDue.Load() >= 2 }, 10*time.Second, time.Millisecond)
	time.Sleep(100 * time.Millisecond) // a spinning loop would claim thousands of times meanwhile
	require.Equal(t, int64(2), counted.claims.Load(), "claims on a clock that stands still")
	require.Equal(t, int64(2), counted.nextDue.Load())
}

// A clock that jumps makes actions due without a write the engine sees:
// Wake has the sleeping loop claim them at once, not at its next poll.
func TestSchedulerWakeAfterClockJump(t *testing.T) {
	t.Parallel()
	counted, clock, e, d := frozenScheduler(t, time.Hour)
	// The loop claimed nothing and went to sleep until the action's due
	// time, an hour of a clock that stands still.
	require.Eventually(t, func() bool { return counted.nextDue.Load() >= 1 }, 10*time.Second, time.Millisecond)
	clock.Advance(time.Hour)
	e.Wake()
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.calls) == 1
	}, 10*time.Second, time.Millisecond, "the woken loop did not claim the action the jump made due")
}
