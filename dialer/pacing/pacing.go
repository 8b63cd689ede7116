// Package pacing decides when a call may start on a trunk: a calls-per-second
// token (GCRA) and a concurrent-channel slot, per trunk and optionally global.
// Two implementations share one conformance suite (pacingtest): Redis (one
// Lua round trip per decision, leased slots so a dead node's channels come
// back) for several nodes, and in-process for the embedded single-node mode.
//
// The guarantee per key, and for the global key (GlobalKey) across all keys,
// is spelled out on Limits.WindowCap: never more than WindowCap calls in any
// 1-second window, at most Burst back to back, CPS on average. A refused
// decision returns the exact wait and the caller sleeps that long; callers of
// one key in one process queue behind one head, so a crowd of waiters costs
// one decision per wake-up. When Redis cannot be reached no call starts
// (ErrUnavailable, the fail_closed gauge, one log line per outage) until it
// answers again; when it comes back without its data (a restart without
// persistence) nothing starts for one more second (ReasonWarmup), since the
// last second's grants are forgotten.
package pacing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Limits caps one key (a trunk, or the global key).
type Limits struct {
	// CPS is the sustained calls per second; 0 means unlimited.
	CPS float64 `yaml:"cps"`
	// Burst is how many calls may start at once after idle time; at least 1
	// (0 is read as 1). See WindowCap for the exact per-second guarantee.
	Burst int `yaml:"burst"`
	// MaxChannels caps concurrent calls; 0 means unlimited.
	MaxChannels int `yaml:"max_channels"`
}

// Pacer grants permission to start calls.
type Pacer interface {
	// Acquire waits until a call may start on key (a CPS token and a channel
	// slot) or ctx ends. The slot is held, and renewed, until Release.
	Acquire(ctx context.Context, key string) (Slot, error)
	// PauseUntil grants nothing on key before t (a carrier's 503 Retry-After).
	PauseUntil(ctx context.Context, key string, t time.Time) error
}

// Slot is one held concurrent-channel slot.
type Slot interface {
	// Release gives the slot back; idempotent.
	Release()
}

// GlobalKey names the optional global caps in a limits map. When present,
// every Acquire on any key must also fit the global limits, checked in the
// same atomic decision.
const GlobalKey = "*"

// Errors Acquire returns. Both are wrapped with the key and the cause.
var (
	// ErrUnavailable means the shared pacing state (Redis) cannot be
	// reached: no call may start (fail closed) until it answers again.
	ErrUnavailable = errors.New("pacing unavailable, failing closed")
	// ErrUnknownKey means the key has no configured limits.
	ErrUnknownKey = errors.New("no pacing limits configured for key")
)

// Reasons a decision refuses a grant (the "reason" label of the refusals metric).
const (
	ReasonCPS      = "cps"      // the GCRA token is not yet due
	ReasonWindow   = "window"   // the 1-second window already holds WindowCap grants
	ReasonChannels = "channels" // every channel slot is held
	ReasonPaused   = "paused"   // PauseUntil is in force
	// ReasonWarmup: the shared state is new or was lost (a Redis restart
	// without persistence) and the last second's grants are unknown, so
	// nothing starts for one Window.
	ReasonWarmup = "warmup"
)

// Window is the length of the sliding window WindowCap applies to.
const Window = time.Second

// Validate reports the first invalid field of l.
func (l Limits) Validate() error {
	switch {
	case math.IsNaN(l.CPS) || math.IsInf(l.CPS, 0) || l.CPS < 0:
		return fmt.Errorf("cps: must be a finite number ≥ 0, got %v", l.CPS)
	case l.CPS > 1e6:
		return fmt.Errorf("cps: must be ≤ 1000000, got %v", l.CPS)
	case l.Burst < 0:
		return fmt.Errorf("burst: must be ≥ 0, got %d", l.Burst)
	case l.Burst > 1e6:
		return fmt.Errorf("burst: must be ≤ 1000000, got %d", l.Burst)
	case l.MaxChannels < 0:
		return fmt.Errorf("max_channels: must be ≥ 0, got %d", l.MaxChannels)
	}
	return nil
}

// EffectiveBurst is Burst, or 1 when Burst is 0.
func (l Limits) EffectiveBurst() int {
	if l.Burst < 1 {
		return 1
	}
	return l.Burst
}

// Interval is the GCRA emission interval 1/CPS, rounded up to the
// microsecond (so rounding never raises the rate); 0 when CPS is unlimited.
func (l Limits) Interval() time.Duration {
	if l.CPS <= 0 {
		return 0
	}
	us := math.Ceil(1e6 / l.CPS)
	return time.Duration(us) * time.Microsecond
}

// WindowCap is the most grants any sliding 1-second window may hold:
// max(ceil(CPS), Burst), or 0 (no window cap) when CPS is unlimited.
//
// The precise contract of a key with CPS > 0 is:
//   - in every half-open interval [t, t+1s) at most WindowCap calls start;
//   - at most Burst calls start back to back after idle time, then one per
//     1/CPS (GCRA with emission interval 1/CPS and tolerance (Burst-1)/CPS);
//   - over any long period the rate is at most CPS.
//
// GCRA alone would let Burst + CPS - 1 calls through in the first second
// after idle; the window cap is what keeps a trunk's per-second limit exact.
func (l Limits) WindowCap() int {
	if l.CPS <= 0 {
		return 0
	}
	c := int(math.Ceil(l.CPS))
	return max(c, l.EffectiveBurst(), 1)
}

// ValidateAll checks a limits map (keys non-empty, limits valid).
func ValidateAll(limits map[string]Limits) error {
	for k, l := range limits {
		if k == "" {
			return errors.New("limits: empty key")
		}
		if err := l.Validate(); err != nil {
			return fmt.Errorf("limits[%q].%w", k, err)
		}
	}
	return nil
}

// Decision is the outcome of one non-blocking pacing decision.
type Decision struct {
	// Slot is set when the call may start.
	Slot Slot
	// Wait is how long until the refusal may lift (0 with a nil Slot: wait
	// for a channel to be released).
	Wait time.Duration
	// Reason names the binding limit when refused (ReasonCPS, …). A timed
	// limit (cps, window, paused) takes precedence: ReasonChannels is
	// reported, with Wait 0, only when no timed limit refuses.
	Reason string
}

// TimedSlot is a Slot that knows when it was granted, on the clock that made
// the decision (the Redis server's TIME, or the injected clock). Both
// implementations' slots implement it; the conformance suite reads it.
type TimedSlot interface {
	Slot
	GrantedAt() time.Time
}

// Clock is the time source of a pacer: Now for decisions (local) and wait
// measurements, After for the sleeps between refused decisions.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
