// Package pacing decides when a call may start on a trunk: a calls-per-second
// token (GCRA) and a concurrent-channel slot, per trunk and optionally global.
// Two implementations share one conformance suite: Redis (one Lua round trip
// per decision, leased slots so a dead node's channels come back) for several
// nodes, and in-process for the embedded single-node mode.
package pacing

import (
	"context"
	"time"
)

// Limits caps one key (a trunk, or the global key).
type Limits struct {
	// CPS is the sustained calls per second; 0 means unlimited.
	CPS float64
	// Burst is how many calls may start at once after idle time; at least 1.
	Burst int
	// MaxChannels caps concurrent calls; 0 means unlimited.
	MaxChannels int
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
