package postgres

import (
	"context"
	"sync"
	"time"
)

// Fresh statistics after a bulk enrollment. The claim's due scan walks
// actions_due in due order and stops at its batch only when the planner
// knows the schedule is large; right after a campaign's contacts were
// imported into a young database it still believes the tables nearly
// empty, and every claim reads and sorts every due row until autovacuum
// analyzes them (a minute later, or, once a table is large, only after a
// tenth of it changed). That minute is when a speed-to-lead campaign
// dials. So the store analyzes the scheduling tables itself once enough
// enrollments arrived: in the background, one ANALYZE at a time, no more
// often than analyzeEvery. ANALYZE reads a sample, so its cost does not
// grow with the tables, and its lock stops only schema changes and VACUUM,
// never reads or writes.

// Defaults of statsKeeper.
const (
	analyzeAfter = 1000             // enrollments since the last ANALYZE
	analyzeEvery = 10 * time.Second // at most one ANALYZE per this long
)

// statsKeeper counts enrollments and runs ANALYZE when they add up. Its
// zero value uses the defaults.
type statsKeeper struct {
	mu      sync.Mutex
	grown   int
	last    time.Time
	running bool
	closed  bool
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	// after and every override analyzeAfter and analyzeEvery (after < 0:
	// never).
	after int
	every time.Duration
	// runs and err are the finished ANALYZE runs and the last one's error.
	runs int
	err  error
}

// enrolled records n new enrollments and starts an ANALYZE when due.
func (s *Store) enrolled(n int) {
	k := &s.stats
	k.mu.Lock()
	defer k.mu.Unlock()
	k.grown += n
	after, every := k.after, k.every
	if after < 0 {
		return
	}
	if after == 0 {
		after = analyzeAfter
	}
	if every <= 0 {
		every = analyzeEvery
	}
	if k.running || k.closed || k.grown < after || time.Since(k.last) < every {
		return
	}
	k.running, k.grown, k.last = true, 0, time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	k.cancel = cancel
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		defer cancel()
		// The tables the claim reads; their owner (the role that migrated
		// them) may analyze them, any other role gets a warning, not an
		// error, and the planner keeps autovacuum's statistics.
		_, err := s.pool.Exec(ctx, "ANALYZE contacts, enrollments, actions")
		k.mu.Lock()
		k.running, k.runs, k.err = false, k.runs+1, err
		k.mu.Unlock()
	}()
}

// analyzed reports how many ANALYZE runs finished and the last one's error.
func (s *Store) analyzed() (int, error) {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.runs, s.stats.err
}

// stopStats cancels a running ANALYZE and waits for it, before the pool
// closes.
func (s *Store) stopStats() {
	k := &s.stats
	k.mu.Lock()
	k.closed = true
	if k.cancel != nil {
		k.cancel()
	}
	k.mu.Unlock()
	k.wg.Wait()
}
