package engine

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// SchedulerOptions tune the claiming loop.
type SchedulerOptions struct {
	// Poll is the mean wait between claims when nothing was due; 1 s when 0.
	// The loop waits less when the next scheduled action falls due sooner,
	// when a wake-up comes, or when it claimed as many as it had room for.
	Poll time.Duration
	// Jitter spreads the waits of several nodes: each wait is Poll ± Jitter/2.
	// Poll/5 when 0.
	Jitter time.Duration
	// RescueEvery is how often expired leases are looked for; 30 s when 0.
	RescueEvery time.Duration
}

// Scheduler is the long-running claim loop of one node. Start returns at
// once; Stop stops claiming, waits for the actions in flight and is
// idempotent.
//
// The loop claims while earlier actions are still in flight, never more
// than the free concurrency slots (a claimed action's lease runs from the
// claim, so it must start at once). Between claims it sleeps until the
// first of: the poll, the next scheduled due time, a wake-up (an action due
// now, here or on another node), or, when it was short of slots, a slot
// coming free.
type Scheduler struct {
	e    *Engine
	opts SchedulerOptions

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	work    sync.WaitGroup
	slots   chan struct{}
	// freed gets a signal (never blocking) whenever an action leaves its
	// slot.
	freed   chan struct{}
	stopped sync.Once
}

// NewScheduler builds the claim loop over the engine.
func (e *Engine) NewScheduler(o SchedulerOptions) *Scheduler {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Jitter <= 0 {
		o.Jitter = o.Poll / 5
	}
	if o.RescueEvery <= 0 {
		o.RescueEvery = 30 * time.Second
	}
	return &Scheduler{e: e, opts: o, slots: make(chan struct{}, e.conc), freed: make(chan struct{}, 1), done: make(chan struct{})}
}

// Start launches the loop.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("scheduler: already started")
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	go s.loop(ctx)
	if w := s.e.waker; w != nil {
		s.work.Add(1)
		go func() {
			defer s.work.Done()
			if err := w.Listen(ctx, s.e.poke); err != nil && ctx.Err() == nil {
				s.e.log.Warn("wake-ups from other nodes stopped; polling only", "err", err)
			}
		}()
	}
	return nil
}

// Stop stops claiming and waits for the actions in flight to finish.
func (s *Scheduler) Stop() {
	s.stopped.Do(func() {
		s.mu.Lock()
		started := s.started
		s.mu.Unlock()
		if !started {
			return
		}
		s.cancel()
		<-s.done
		s.work.Wait()
	})
}

func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.done)
	log := s.e.log.With("component", "scheduler")
	var lastRescue time.Time
	var aim aimed
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return // a wake-up may win the race with Stop: no claim after it
		}
		if time.Since(lastRescue) >= s.opts.RescueEvery {
			lastRescue = time.Now()
			if _, _, err := s.e.Rescue(ctx); err != nil && ctx.Err() == nil {
				log.Error("rescue expired leases", "err", err)
			}
		}
		free := cap(s.slots) - len(s.slots)
		limit := min(free, s.e.batch)
		n := 0
		if limit > 0 {
			n = s.claimAndStart(ctx, log, limit)
		}
		if ctx.Err() != nil {
			return
		}
		var freed <-chan struct{}
		wait := s.opts.Poll - s.opts.Jitter/2 + rand.N(s.opts.Jitter+1)
		switch {
		case limit > 0 && n == limit && limit == s.e.batch:
			wait = 0 // a full batch: more may be due
		case free == 0 || (n > 0 && n == limit):
			// Short of slots, and more may be due: claim as soon as
			// one comes free.
			freed = s.freed
		case len(s.e.wake) > 0:
			wait = 0 // a wake-up is waiting: no need to ask for the next due time
		default:
			wait = s.untilNextDue(ctx, log, wait, n, &aim)
		}
		if wait <= 0 {
			// Yield to a pending wake-up or stop without sleeping.
			select {
			case <-ctx.Done():
				return
			case <-s.e.wake:
			default:
			}
			continue
		}
		// Reset discards a stale expiry (Go 1.23 timers).
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.e.wake:
		case <-freed:
			s.gatherSlots(ctx)
		}
	}
}

// slotGather bounds how long the loop, short of slots, waits for more to
// come free once the first did.
const slotGather = 3 * time.Millisecond

// gatherSlots waits, after a slot came free, until a quarter of a batch is
// free or slotGather passed. A claim costs nearly the same for one action as
// for a hundred, so claiming on every single free slot would spend the
// database on claim overhead exactly when the node is saturated; the wait
// is a few milliseconds, only when every slot was taken.
func (s *Scheduler) gatherSlots(ctx context.Context) {
	want := max(1, min(s.e.batch, cap(s.slots))/4)
	deadline := time.NewTimer(slotGather)
	defer deadline.Stop()
	for cap(s.slots)-len(s.slots) < want {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-s.freed:
		}
	}
}

// claimAndStart claims up to limit due actions and starts each in its own
// slot; it returns how many it claimed.
func (s *Scheduler) claimAndStart(ctx context.Context, log *slog.Logger, limit int) int {
	claimed, err := s.e.claim(ctx, limit)
	if err != nil && ctx.Err() == nil {
		log.Error("claim due actions", "err", err)
	}
	for _, ca := range claimed {
		s.slots <- struct{}{}
		s.work.Add(1)
		go func() {
			defer s.work.Done()
			defer func() {
				<-s.slots
				select {
				case s.freed <- struct{}{}:
				default:
				}
			}()
			if err := s.e.process(ctx, ca); err != nil {
				log.Error("process action", "action_id", ca.Action.ID, "err", err)
			}
		}()
	}
	return len(claimed)
}

// aimed remembers the due time the loop last woke up early for, so that an
// action it cannot claim (held by another node, or not due on a clock
// that does not move) sends it back to polling instead of waking it again
// and again.
type aimed struct {
	at time.Time
	ok bool
}

// untilNextDue shortens the poll wait to the next scheduled due time, when
// that is sooner, on the engine's clock. It only ever shortens the wait: on
// a simulated clock that runs fast or stands still the loop polls no less
// often than before.
func (s *Scheduler) untilNextDue(ctx context.Context, log *slog.Logger, wait time.Duration, claimed int, aim *aimed) time.Duration {
	at, ok, err := s.e.store.NextDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("next due time", "err", err)
		}
		return wait
	}
	if !ok {
		return wait
	}
	if claimed == 0 && aim.ok && at.Equal(aim.at) {
		// Woke up for it already and claimed nothing: poll.
		return wait
	}
	d := max(at.Sub(s.e.now()), 0)
	if d >= wait {
		return wait
	}
	aim.at, aim.ok = at, true
	return d
}
