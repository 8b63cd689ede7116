package engine_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer"
	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/internal/benchcpu"
	"github.com/cadenza-dialer/cadenza/engine/postgres"
	"github.com/cadenza-dialer/cadenza/engine/postgres/pgtest"
)

// benchStart is a Monday 11:00 in New York: inside every window of
// oneCallDefinition.
var benchStart = time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)

// timedClaims records how long each claim transaction takes, decisions
// included, as the engine calls it.
type timedClaims struct {
	engine.ScheduleStore
	mu     sync.Mutex
	claims []time.Duration
}

func (t *timedClaims) Claim(ctx context.Context, r engine.ClaimRequest, decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) ([]engine.ClaimedAction, error) {
	t0 := time.Now()
	out, err := t.ScheduleStore.Claim(ctx, r, decide)
	d := time.Since(t0)
	t.mu.Lock()
	t.claims = append(t.claims, d)
	t.mu.Unlock()
	return out, err
}

// p99 is the 99th percentile of ds in milliseconds.
func p99(ds []time.Duration) float64 {
	return percentile(ds, 99)
}

func percentile(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, len(s)*p/100)].Microseconds()) / 1000
}

// enrollBench enrolls n new contacts in cad (each gets one call due now).
func enrollBench(b *testing.B, e *engine.Engine, cad string, from, n int) {
	for i := range n {
		_, err := e.Enroll(b.Context(), engine.EnrollRequest{CadenceID: cad,
			Contact: &engine.Contact{Phone: fmt.Sprintf("+1212%07d", 2000000+from+i), TimeZone: "America/New_York"}})
		require.NoError(b, err)
	}
}

// benchRunDue measures claim → dial (scripted, instant) → complete with
// routing through the whole engine: b.N contacts are due at once, conc of
// them in flight. It returns the engine, the cadence and the rate.
func benchRunDue(b *testing.B, store engine.ScheduleStore, conc int, prepared func() *benchcpu.Meter) (*engine.Engine, string, float64) {
	clock := engine.NewSimClock(benchStart)
	script, err := engine.ParseOutcomeScript("no_answer")
	require.NoError(b, err)
	timed := &timedClaims{ScheduleStore: store}
	e, err := engine.New(engine.Options{Store: timed, Now: clock.Now, Dialer: engine.NewScriptedDialer(script, clock.Now), BatchSize: 100, Concurrency: conc})
	require.NoError(b, err)
	cad, err := store.CreateCadence(b.Context(), oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(b, err)
	enrollBench(b, e, cad.ID, 0, b.N)
	cpu := prepared()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n, err := e.RunDue(b.Context())
	elapsed := time.Since(start)
	b.StopTimer()
	if cpu != nil {
		cpu.Stop(b, n, "")
	}
	require.NoError(b, err)
	require.Equal(b, b.N, n)
	rate := float64(n) / elapsed.Seconds()
	b.ReportMetric(rate, "actions/s")
	b.ReportMetric(p99(timed.claims), "claim-p99-ms")
	return e, cad.ID, rate
}

func BenchmarkRunDueSQLite(b *testing.B) {
	store := newMemStoreTB(b)
	benchRunDue(b, store, 8, func() *benchcpu.Meter { return nil })
}

// BenchmarkRunDuePostgres runs the engine, then, in the same run and
// schema, the raw floor on as many fresh due actions: the single claim CTE
// (batches of the engine's size) and one multi-row completion per batch.
// It reports both rates and their ratio, with 8 actions in flight (the
// engine's default) and with a whole batch in flight (100, as a node with
// that many channels runs: its dialing marks and outcomes group-commit
// together).
func BenchmarkRunDuePostgres(b *testing.B) {
	for _, conc := range []int{8, 100} {
		b.Run(fmt.Sprintf("conc-%d", conc), func(b *testing.B) {
			store, url, schema := newPostgresBench(b, 8)
			e, cad, rate := benchRunDue(b, store, conc, func() *benchcpu.Meter {
				pgtest.Analyze(b, url, schema)
				return benchcpu.Start(b, url)
			})
			enrollBench(b, e, cad, b.N, b.N)
			pgtest.Analyze(b, url, schema)
			raw := rawRate(b, url, schema, 100, b.N)
			b.ReportMetric(raw, "raw-actions/s")
			b.ReportMetric(rate/raw, "ratio")
		})
	}
}

// countedDialer counts the calls handed to it.
type countedDialer struct {
	engine.Dialer
	n atomic.Int64
}

func (d *countedDialer) Dial(ctx context.Context, c dialer.Call) dialer.Outcome {
	out := d.Dialer.Dial(ctx, c)
	d.n.Add(1)
	return out
}

// BenchmarkSchedulerPostgres is BenchmarkRunDuePostgres through the
// long-running scheduler loop, as a node runs: it claims while earlier
// actions are in flight, never more than its free slots (Concurrency 100,
// batch 100). The clock stands still: b.N contacts are due at once. The
// time runs from Start to a drained Stop (every outcome recorded).
//
// "fresh" starts from empty tables; "history-100k" first loads the
// finished work of a running system, 100,000 contacts each with a
// completed enrollment, call and attempt, so that every index and table
// the claim and the outcomes touch is of a production size.
func BenchmarkSchedulerPostgres(b *testing.B) {
	b.Run("fresh", func(b *testing.B) { benchScheduler(b, 0) })
	b.Run("history-100k", func(b *testing.B) { benchScheduler(b, 100_000) })
}

func benchScheduler(b *testing.B, history int) {
	store, url, schema := newPostgresBench(b, 8)
	clock := engine.NewSimClock(benchStart)
	script, err := engine.ParseOutcomeScript("no_answer")
	require.NoError(b, err)
	timed := &timedClaims{ScheduleStore: store}
	d := &countedDialer{Dialer: engine.NewScriptedDialer(script, clock.Now)}
	e, err := engine.New(engine.Options{Store: timed, Now: clock.Now, Dialer: d, BatchSize: 100, Concurrency: 100})
	require.NoError(b, err)
	cad, err := store.CreateCadence(b.Context(), oneCallDefinition(), engine.StatusActive, clock.Now())
	require.NoError(b, err)
	if history > 0 {
		loadHistory(b, url, schema, cad.ID, history)
	}
	enrollBench(b, e, cad.ID, 0, b.N)
	pgtest.Analyze(b, url, schema)
	sched := e.NewScheduler(engine.SchedulerOptions{Poll: time.Second, RescueEvery: time.Hour})
	cpu := benchcpu.Start(b, url)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	require.NoError(b, sched.Start(b.Context()))
	defer sched.Stop()
	deadline := start.Add(5 * time.Minute)
	for d.n.Load() < int64(b.N) {
		require.True(b, time.Now().Before(deadline), "only %d of %d calls handed off", d.n.Load(), b.N)
		time.Sleep(time.Millisecond)
	}
	sched.Stop()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu.Stop(b, b.N, "")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "actions/s")
	b.ReportMetric(p99(timed.claims), "claim-p99-ms")
}

// loadHistory inserts n contacts of another area code, each with a
// completed enrollment in cadence cad and its completed call (a counted
// attempt) two days before benchStart: the finished work of a running
// system, in bulk.
func loadHistory(b *testing.B, url, schema, cad string, n int) {
	conn := pgtest.Conn(b, url, schema)
	at := benchStart.Add(-48 * time.Hour)
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO contacts (id, phone, first_name, last_name, timezone, state, zip, owner, fields, created_at, updated_at)
		 SELECT gen_random_uuid(), '+1646' || lpad(g::text, 7, '0'), '', '', 'America/New_York', '', '', '', '{}', $1, $1
		 FROM generate_series(1, $2::int) g`, []any{at, n}},
		{`INSERT INTO enrollments (id, cadence_id, cadence_version, contact_id, status, created_at, stopped_at, stop_reason)
		 SELECT gen_random_uuid(), $2, 1, id, 'completed', $1, $1, 'history' FROM contacts WHERE phone LIKE '+1646%'`, []any{at, cad}},
		{`INSERT INTO actions (id, enrollment_id, contact_id, cadence_id, step, type, due_at, state, attempt, created_at,
		                      completed_at, disposition, fence, started_at, counted)
		 SELECT gen_random_uuid(), id, contact_id, cadence_id, 1, 'call', $1, 'completed', 1, $1, $1, 'no_answer', 1, $1, true
		 FROM enrollments WHERE stop_reason = 'history'`, []any{at}},
	} {
		_, err := conn.Exec(b.Context(), st.sql, st.args...)
		require.NoError(b, err)
	}
}

// newPostgresBench opens a store for a benchmark; the benchmark analyzes
// the tables itself after its set-up (pgtest.Analyze), so the store's own
// background ANALYZE is off: it would land in the middle of a measurement.
func newPostgresBench(b *testing.B, maxConns int32) (*postgres.Store, string, string) {
	return pgtest.Open(b, "cadenza_bench_", maxConns, postgres.WithAnalyzeAfter(-1))
}

// rawRate claims and completes n due actions with the bare SQL and returns
// the rate.
func rawRate(b *testing.B, url, schema string, batch, n int) float64 {
	ctx := b.Context()
	conn := pgtest.Conn(b, url, schema)
	now := benchStart
	cpu := benchcpu.Start(b, url)
	start := time.Now()
	done := 0
	for done < n {
		rows, err := conn.Query(ctx, `WITH due AS (
			SELECT id FROM actions WHERE state = 'scheduled' AND due_at <= $1 ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			UPDATE actions a SET state = 'processing', lease_owner = 'raw', lease_expires_at = $2, fence = a.fence + 1
			FROM due WHERE a.id = due.id RETURNING a.id::text`, now, now.Add(time.Minute), batch)
		require.NoError(b, err)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(b, err)
		require.NotEmpty(b, ids)
		_, err = conn.Exec(ctx, `UPDATE actions SET state = 'completed', completed_at = $2, disposition = 'no_answer'
			WHERE id = ANY($1::uuid[]) AND state = 'processing'`, ids, now)
		require.NoError(b, err)
		done += len(ids)
	}
	rate := float64(done) / time.Since(start).Seconds()
	cpu.Stop(b, done, "raw-")
	return rate
}
