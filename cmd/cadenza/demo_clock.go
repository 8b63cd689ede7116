package main

import (
	"context"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// warpClock is the demo's simulated time: it flows at speed × real time and
// jumps forward over idle stretches (nights, weekends, multi-day delays), so
// a week of cadence plays in seconds while every call still takes its real
// seconds on the wire. It never goes back.
type warpClock struct {
	mu       sync.Mutex
	speed    float64
	realNow  func() time.Time
	base     time.Time // simulated time at realBase
	realBase time.Time
}

func newWarpClock(start time.Time, speed float64, realNow func() time.Time) *warpClock {
	return &warpClock{speed: speed, realNow: realNow, base: start, realBase: realNow()}
}

// Now reads the simulated time.
func (c *warpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *warpClock) nowLocked() time.Time {
	return c.base.Add(time.Duration(float64(c.realNow().Sub(c.realBase)) * c.speed))
}

// JumpTo moves the clock forward to t; a t in the past does nothing.
func (c *warpClock) JumpTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.nowLocked()) {
		c.base, c.realBase = t, c.realNow()
	}
}

// trackedStore is the engine's store with a ledger of the actions in
// flight (claimed, not yet completed) and the simulated time each was
// claimed at. The warp clock reads the ledger under the same lock as the
// claims, so it never jumps between a claim's commit and its ledger entry.
type trackedStore struct {
	engine.ScheduleStore

	mu       sync.Mutex
	inflight map[string]time.Time // action ID → simulated claim time
	// landed has a value when an action left flight since the clock last
	// looked: the clock may jump at once rather than at its next tick.
	landed chan struct{}
}

func newTrackedStore(s engine.ScheduleStore) *trackedStore {
	return &trackedStore{ScheduleStore: s, inflight: map[string]time.Time{}, landed: make(chan struct{}, 1)}
}

// Claim records what it claimed as in flight.
func (s *trackedStore) Claim(ctx context.Context, r engine.ClaimRequest, decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) ([]engine.ClaimedAction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.ScheduleStore.Claim(ctx, r, decide)
	for _, ca := range out {
		s.inflight[ca.Action.ID] = r.Now
	}
	return out, err
}

// Rescue records the in-doubt actions it leased as in flight: the engine
// completes them next.
func (s *trackedStore) Rescue(ctx context.Context, owner string, now time.Time, lease time.Duration, historySince time.Time) (int, []engine.ClaimedAction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, doubt, err := s.ScheduleStore.Rescue(ctx, owner, now, lease, historySince)
	for _, ca := range doubt {
		s.inflight[ca.Action.ID] = now
	}
	return n, doubt, err
}

// Complete ends an action's flight once its outcome and next action are
// durable (or the completion failed: the action is not ours any more).
func (s *trackedStore) Complete(ctx context.Context, c engine.Completion) error {
	err := s.ScheduleStore.Complete(ctx, c)
	s.mu.Lock()
	delete(s.inflight, c.ActionID)
	s.mu.Unlock()
	select {
	case s.landed <- struct{}{}:
	default:
	}
	return err
}

// InFlight counts the actions in flight.
func (s *trackedStore) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight)
}

// trackedAgentStore is the tracked store with the agents beside it: the
// engine finds agents by asserting its store, and the demo's floor is in
// the store so that contacts get owners and texts their names.
type trackedAgentStore struct {
	*trackedStore
	engine.AgentStore
}

// warpStep is what one look at the schedule decided.
type warpStep int

const (
	warpWait     warpStep = iota // something is due or in flight: let time flow
	warpJumped                   // the clock jumped to the next due action
	warpFinished                 // nothing scheduled, nothing in flight
	warpHorizon                  // idle, and the next action is after the horizon
)

// advance looks at the schedule once and moves the clock:
//   - nothing in flight and nothing scheduled: finished;
//   - nothing in flight, next action in the future: jump to it (or stop at
//     the horizon);
//   - calls in flight: jump to the next action only when it is due within
//     lookahead of the oldest call in flight's start, so calls of
//     neighbouring waves overlap on the wire while no call's outcome is
//     recorded more than lookahead after it started; otherwise time flows
//     at the clock's speed until the calls end.
func (s *trackedStore) advance(ctx context.Context, clock *warpClock, lookahead time.Duration, horizon time.Time) (warpStep, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, ok, err := s.ScheduleStore.NextDue(ctx)
	if err != nil {
		return warpWait, err
	}
	now := clock.Now()
	if len(s.inflight) == 0 {
		switch {
		case !ok:
			return warpFinished, nil
		case next.After(horizon):
			return warpHorizon, nil
		case next.After(now):
			clock.JumpTo(next)
			return warpJumped, nil
		}
		return warpWait, nil
	}
	if !ok || !next.After(now) || next.After(horizon) {
		return warpWait, nil
	}
	var oldest time.Time
	for _, at := range s.inflight {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	if !next.After(oldest.Add(lookahead)) {
		clock.JumpTo(next)
		return warpJumped, nil
	}
	return warpWait, nil
}
