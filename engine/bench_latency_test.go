package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/postgres/pgtest"
)

// handoffDialer records when each call was handed to it and answers at
// once with no_answer.
type handoffDialer struct {
	now func() time.Time
	mu  sync.Mutex
	at  map[string]time.Time
}

func (d *handoffDialer) Dial(_ context.Context, c dialer.Call) dialer.Outcome {
	now := d.now()
	d.mu.Lock()
	d.at[c.ID] = now
	d.mu.Unlock()
	return dialer.Outcome{CallID: c.ID, To: c.To, Disposition: dialer.NoAnswer, Timings: dialer.Timings{Queued: now, InviteSent: now}}
}

// spreadDue moves the scheduled actions to first, first+step, … (in id
// order) and records their new due times.
func spreadDue(b *testing.B, url, schema string, first time.Time, step time.Duration, due map[string]time.Time) {
	ctx := b.Context()
	conn := pgtest.Conn(b, url, schema)
	rows, err := conn.Query(ctx, `WITH o AS (
		SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM actions WHERE state = 'scheduled')
		UPDATE actions a SET due_at = $1::timestamptz + o.i * $2::interval
		FROM o WHERE a.id = o.id RETURNING a.id::text, a.due_at`, first, step)
	require.NoError(b, err)
	for rows.Next() {
		var id string
		var at time.Time
		require.NoError(b, rows.Scan(&id, &at))
		due[id] = at.UTC()
	}
	require.NoError(b, rows.Err())
}

func (d *handoffDialer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.at)
}

// BenchmarkDueToHandoffPostgres measures the latency from an action's due
// time to its hand-off to the dialer, with the real scheduler loop on
// Postgres, while actions fall due at a steady 1,000 per second (b.N of
// them; -benchtime 3000x is three seconds).
//
//   - notify: producers insert each action due at once, as an enrollment
//     or a retry "now" does; the insert's NOTIFY wakes the scheduler, the
//     poll (1 s) is only the fallback.
//   - poll: the actions were scheduled ahead, due 1 ms apart from 200 ms
//     after the start; nothing notifies, the scheduler finds them by
//     polling (every 50 ms ± 10 ms) and by sleeping until the next due
//     time when that is sooner.
//
// The clock is real time, shifted to start on a Monday 11:00 in New York so
// that every action is inside its windows whenever the benchmark runs.
func BenchmarkDueToHandoffPostgres(b *testing.B) {
	b.Run("notify", func(b *testing.B) { benchHandoff(b, true) })
	b.Run("poll", func(b *testing.B) { benchHandoff(b, false) })
}

func benchHandoff(b *testing.B, notify bool) {
	const perSecond = 1000
	ctx := b.Context()
	// Four producers and the listener hold connections of their own.
	store, url, schema := newPostgresBench(b, 16)
	real0 := time.Now()
	now := func() time.Time { return benchStart.Add(time.Since(real0)) }
	d := &handoffDialer{now: now, at: make(map[string]time.Time, b.N)}
	timed := &timedClaims{ScheduleStore: store}
	e, err := engine.New(engine.Options{Store: timed, Now: now, Dialer: d, BatchSize: 100, Concurrency: 64, Waker: store})
	require.NoError(b, err)
	cad, err := store.CreateCadence(ctx, oneCallDefinition(), engine.StatusActive, now())
	require.NoError(b, err)
	enrollments := make([]string, b.N)
	for i := range b.N {
		c, err := store.UpsertContact(ctx, engine.Contact{Phone: fmt.Sprintf("+1212%07d", 3000000+i), TimeZone: "America/New_York"}, now())
		require.NoError(b, err)
		en, err := store.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, now())
		require.NoError(b, err)
		enrollments[i] = en.ID
	}
	if notify {
		pgtest.Analyze(b, url, schema)
	}
	step := time.Second / perSecond
	due := make(map[string]time.Time, b.N)
	var dueMu sync.Mutex
	insert := func(i int, at time.Time) error {
		a, err := store.InsertAction(ctx, engine.NewAction{EnrollmentID: enrollments[i], Step: 1, Type: engine.StepCall, DueAt: at}, nil, now())
		if err != nil {
			return err
		}
		dueMu.Lock()
		due[a.ID] = a.DueAt
		dueMu.Unlock()
		return nil
	}
	opts := engine.SchedulerOptions{Poll: time.Second}
	if !notify {
		// Inserting takes longer than the run: the rows go in far
		// ahead, then one statement spreads them 1 ms apart from just
		// after now.
		opts = engine.SchedulerOptions{Poll: 50 * time.Millisecond, Jitter: 20 * time.Millisecond}
		for i := range b.N {
			require.NoError(b, insert(i, now().Add(time.Hour)))
		}
		pgtest.Analyze(b, url, schema)
		spreadDue(b, url, schema, now().Add(200*time.Millisecond), step, due)
	}
	first := now().Add(200 * time.Millisecond)
	sched := e.NewScheduler(opts)
	b.ResetTimer()
	require.NoError(b, sched.Start(ctx))
	defer sched.Stop()
	if notify {
		// Four producers share the ticks: action i is inserted at
		// first + i ms, due when it is inserted.
		const producers = 4
		errs := make(chan error, producers)
		for p := range producers {
			go func() {
				for i := p; i < b.N; i += producers {
					time.Sleep(time.Until(real0.Add(first.Sub(benchStart) + time.Duration(i)*step)))
					if err := insert(i, now()); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range producers {
			require.NoError(b, <-errs)
		}
	}
	deadline := time.Now().Add(time.Duration(b.N)*step + 30*time.Second)
	for d.count() < b.N {
		require.True(b, time.Now().Before(deadline), "only %d of %d calls handed off", d.count(), b.N)
		time.Sleep(10 * time.Millisecond)
	}
	sched.Stop()
	b.StopTimer()
	lat := make([]time.Duration, 0, b.N)
	d.mu.Lock()
	for id, at := range d.at {
		lat = append(lat, at.Sub(due[id]))
	}
	d.mu.Unlock()
	b.ReportMetric(percentile(lat, 50), "p50-ms")
	b.ReportMetric(percentile(lat, 99), "p99-ms")
	b.ReportMetric(percentile(lat, 100), "max-ms")
	timed.mu.Lock()
	b.ReportMetric(p99(timed.claims), "claim-p99-ms")
	timed.mu.Unlock()
}
