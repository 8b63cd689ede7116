package pacing

import (
	"context"
	"sync"
	"time"
)

// decider makes one non-blocking decision; both implementations are one.
type decider interface {
	TryAcquire(ctx context.Context, key string) (Decision, error)
}

// acquire is the blocking loop both implementations share: decide, and when
// refused sleep exactly the returned wait (on the injected clock), or until a
// slot is released in this process, or — for channel refusals without a
// known end — at most poll (0: no poll, rely on releases alone).
//
// gate (capacity 1) queues this process's callers of one key: only the head
// of the queue asks the backend, so 100 waiting calls cost one decision per
// wake-up instead of a thundering herd of 100, and they are served roughly
// in arrival order. It caps one process's decisions on one key at one per
// round trip (thousands per second with Redis), far above any trunk's CPS.
func acquire(ctx context.Context, d decider, clock Clock, m *metrics, rel *broadcast, gate chan struct{}, key string, poll time.Duration) (Slot, error) {
	start := clock.Now()
	select {
	case gate <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-gate }()
	for {
		// Subscribe before deciding so that a release between the decision
		// and the wait still wakes us.
		released := rel.wait()
		dec, err := d.TryAcquire(ctx, key)
		if err != nil {
			return nil, err
		}
		if dec.Slot != nil {
			m.wait.WithLabelValues(key).Observe(clock.Now().Sub(start).Seconds())
			return dec.Slot, nil
		}
		wait := dec.Wait
		if dec.Reason == ReasonChannels && poll > 0 && (wait <= 0 || wait > poll) {
			wait = poll
		}
		var timer <-chan time.Time
		if wait > 0 {
			timer = clock.After(wait)
		}
		if dec.Reason != ReasonChannels {
			// Only a channel refusal can lift on a release; other waits
			// are exact and need no extra decision.
			released = nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer:
		case <-released:
		}
	}
}

// broadcast wakes every waiter at once: wait returns a channel that the next
// notify closes.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}
