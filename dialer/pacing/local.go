package pacing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LocalOptions configure an in-process pacer.
type LocalOptions struct {
	// Registerer receives the pacing metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Local is the in-process pacer of the embedded single-node mode. All state
// sits behind one mutex: a decision is a few hundred nanoseconds, and the
// global key makes finer locking pointless. Its state dies with the process:
// a process restarted within a second does not know the previous one's last
// grants (the Redis pacer guards against that; a single node restarting
// that fast is not worth a one-second delay on every start).
type Local struct {
	clock Clock
	m     *metrics
	rel   broadcast

	gates map[string]chan struct{} // see acquire

	mu     sync.Mutex
	keys   map[string]*localKey
	global *localKey // nil when no GlobalKey limits
}

var _ Pacer = (*Local)(nil)

// localKey is the state of one key: GCRA theoretical arrival time, the ring
// of the last WindowCap grant times, held channels and the pause.
type localKey struct {
	name     string
	lim      Limits
	interval time.Duration
	tau      time.Duration
	tat      time.Time
	ring     []time.Time
	head     int
	n        int
	inUse    int
	paused   time.Time
}

// NewLocal returns an in-process pacer for the given keys (GlobalKey adds
// global caps). It starts no goroutine.
func NewLocal(clock Clock, limits map[string]Limits, opts LocalOptions) (*Local, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	if err := ValidateAll(limits); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	p := &Local{clock: clock, m: m, keys: make(map[string]*localKey, len(limits)), gates: make(map[string]chan struct{}, len(limits))}
	for k, l := range limits {
		lk := &localKey{name: k, lim: l, interval: l.Interval()}
		lk.tau = time.Duration(l.EffectiveBurst()-1) * lk.interval
		if c := l.WindowCap(); c > 0 {
			lk.ring = make([]time.Time, c)
		}
		p.keys[k] = lk
		p.gates[k] = make(chan struct{}, 1)
	}
	p.global = p.keys[GlobalKey]
	return p, nil
}

// Acquire implements Pacer.
func (p *Local) Acquire(ctx context.Context, key string) (Slot, error) {
	if _, ok := p.keys[key]; !ok {
		return nil, fmt.Errorf("acquire %q: %w", key, ErrUnknownKey)
	}
	return acquire(ctx, p, p.clock, p.m, &p.rel, p.gates[key], key, 0)
}

// levels returns the states a grant on key must fit: the key, then global.
func (p *Local) levels(key string) ([]*localKey, error) {
	k, ok := p.keys[key]
	if !ok {
		return nil, fmt.Errorf("%q: %w", key, ErrUnknownKey)
	}
	if p.global == nil || k == p.global {
		return []*localKey{k}, nil
	}
	return []*localKey{k, p.global}, nil
}

// TryAcquire makes one decision without waiting.
func (p *Local) TryAcquire(ctx context.Context, key string) (Decision, error) {
	levels, err := p.levels(key)
	if err != nil {
		return Decision{}, fmt.Errorf("acquire: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	p.mu.Lock()
	now := p.clock.Now()
	// The longest timed wait refuses (it only lifts with time); only
	// without one does a full level refuse (it lifts on a release).
	var wait time.Duration
	reason := ""
	for _, k := range levels {
		if d := k.paused.Sub(now); d > wait {
			wait, reason = d, ReasonPaused
		}
		if k.interval > 0 {
			tat := k.tat
			if tat.Before(now) {
				tat = now
			}
			if d := tat.Add(-k.tau).Sub(now); d > wait {
				wait, reason = d, ReasonCPS
			}
			if k.n == len(k.ring) {
				// ring[head] is the oldest of the last WindowCap grants.
				if d := k.ring[k.head].Add(Window).Sub(now); d > wait {
					wait, reason = d, ReasonWindow
				}
			}
		}
	}
	if wait == 0 {
		for _, k := range levels {
			if k.lim.MaxChannels > 0 && k.inUse >= k.lim.MaxChannels {
				reason = ReasonChannels
			}
		}
	}
	if reason != "" {
		p.mu.Unlock()
		p.m.refusals.WithLabelValues(key, reason).Inc()
		return Decision{Wait: wait, Reason: reason}, nil
	}
	for _, k := range levels {
		if k.interval > 0 {
			tat := k.tat
			if tat.Before(now) {
				tat = now
			}
			k.tat = tat.Add(k.interval)
			k.ring[k.head] = now
			k.head = (k.head + 1) % len(k.ring)
			if k.n < len(k.ring) {
				k.n++
			}
		}
		k.inUse++
	}
	p.mu.Unlock()
	for _, k := range levels {
		p.m.active.WithLabelValues(k.name).Inc()
	}
	return Decision{Slot: &localSlot{p: p, levels: levels, at: now}}, nil
}

// PauseUntil implements Pacer. A pause is never shortened.
func (p *Local) PauseUntil(ctx context.Context, key string, t time.Time) error {
	k, ok := p.keys[key]
	if !ok {
		return fmt.Errorf("pause %q: %w", key, ErrUnknownKey)
	}
	p.mu.Lock()
	if t.After(k.paused) {
		k.paused = t
	}
	p.mu.Unlock()
	return nil
}

// InUse reports how many channel slots key holds (for tests and status).
func (p *Local) InUse(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k, ok := p.keys[key]; ok {
		return k.inUse
	}
	return 0
}

type localSlot struct {
	p      *Local
	levels []*localKey
	at     time.Time
	once   sync.Once
}

func (s *localSlot) GrantedAt() time.Time { return s.at }

func (s *localSlot) Release() {
	s.once.Do(func() {
		s.p.mu.Lock()
		for _, k := range s.levels {
			k.inUse--
		}
		s.p.mu.Unlock()
		for _, k := range s.levels {
			s.p.m.active.WithLabelValues(k.name).Dec()
		}
		s.p.rel.notify()
	})
}
