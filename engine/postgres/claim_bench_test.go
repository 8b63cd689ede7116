package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

// Both benchmarks do the same work per action, as the engine does it:
// claim in batches of benchBatch, then benchWorkers workers each mark an
// action dialing and complete it. They report actions/s and the p99 of the
// claim transactions.
const (
	benchBatch   = 100
	benchWorkers = 8
)

// benchURL is the test database's URL; benchmarks skip without one.
func benchURL(b *testing.B) string {
	url := os.Getenv("CADENZA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("CADENZA_TEST_REQUIRE_SERVICES") == "1" {
			b.Fatal("CADENZA_TEST_POSTGRES_URL is empty but CADENZA_TEST_REQUIRE_SERVICES=1")
		}
		b.Skip("CADENZA_TEST_POSTGRES_URL is not set; it is set by make test")
	}
	return url
}

// benchSchedule fills a store in a schema of its own (dropped at cleanup)
// with b.N due call actions, one per contact.
func benchSchedule(b *testing.B) (s *Store, schema string, now time.Time) {
	url := benchURL(b)
	r := make([]byte, 6)
	_, _ = rand.Read(r)
	schema = "cadenza_bench_" + hex.EncodeToString(r)
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	require.NoError(b, exec(b.Context(), "CREATE SCHEMA "+schema))
	b.Cleanup(func() {
		if err := exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			b.Errorf("drop schema %s: %v", schema, err)
		}
	})
	// The set-up analyzes once at its end, as autovacuum would in time;
	// the store's own ANALYZE would land in the middle of a measurement.
	s, err := Open(b.Context(), url, WithSchema(schema), WithMaxConns(8), WithAnalyzeAfter(-1))
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	ctx := b.Context()
	require.NoError(b, s.Migrate(ctx))
	now = time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)
	cad, err := s.CreateCadence(ctx, storetest.Definition("bench"), engine.StatusActive, now)
	require.NoError(b, err)
	for i := range b.N {
		c, err := s.UpsertContact(ctx, engine.Contact{Phone: fmt.Sprintf("+1212%07d", i)}, now)
		require.NoError(b, err)
		e, err := s.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, now)
		require.NoError(b, err)
		_, err = s.InsertAction(ctx, engine.NewAction{EnrollmentID: e.ID, Step: 1, Type: engine.StepCall, DueAt: now}, nil, now)
		require.NoError(b, err)
	}
	_, err = s.pool.Exec(ctx, "ANALYZE")
	require.NoError(b, err)
	return s, schema, now
}

// reportClaims reports throughput, the claims' share of the time and the
// claim latency percentiles.
func reportClaims(b *testing.B, n int, elapsed time.Duration, claims []time.Duration) {
	b.ReportMetric(float64(n)/elapsed.Seconds(), "actions/s")
	var total time.Duration
	for _, d := range claims {
		total += d
	}
	b.ReportMetric(total.Seconds()/elapsed.Seconds(), "claim-share")
	slices.Sort(claims)
	if len(claims) > 0 {
		b.ReportMetric(float64(claims[len(claims)*99/100].Microseconds())/1000, "claim-p99-ms")
	}
}

// BenchmarkStoreClaimComplete is the store's path: claim (contact locks,
// candidates, histories, attempt rows), mark dialing, complete under the
// fence with the enrollment's end as tail — the calls the engine makes —
// with the concurrent calls group-committed, and alone (each its own
// transaction, as before group commit).
func BenchmarkStoreClaimComplete(b *testing.B) {
	for _, groups := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("grouped-%d", groups), func(b *testing.B) { benchStoreClaimComplete(b, groups) })
	}
	b.Run("alone", func(b *testing.B) { benchStoreClaimComplete(b, 0) })
}

// benchStoreClaimComplete writes groups groups at once, or every call
// alone when 0.
func benchStoreClaimComplete(b *testing.B, groups int) {
	s, _, now := benchSchedule(b)
	s.commits.groups, s.commits.alone = groups, groups == 0
	ctx := b.Context()
	run := func(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
	}
	var claims []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	done := 0
	for done < b.N {
		t0 := time.Now()
		cs, err := s.Claim(ctx, engine.ClaimRequest{Owner: "bench", Now: now, Limit: benchBatch, Lease: time.Minute, HistorySince: now.Add(-24 * time.Hour)}, run)
		claims = append(claims, time.Since(t0))
		require.NoError(b, err)
		require.NotEmpty(b, cs)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(benchWorkers)
		for _, c := range cs {
			g.Go(func() error {
				if err := s.MarkDialing(gctx, c.Action.ID, c.Fence, now); err != nil {
					return err
				}
				return s.Complete(gctx, engine.Completion{ActionID: c.Action.ID, Fence: c.Fence, Disposition: "no_answer", Placed: true, Now: now,
					Tail: engine.Tail{Finish: &engine.Finish{Status: engine.EnrollmentCompleted, Reason: "bench"}}})
			})
		}
		require.NoError(b, g.Wait())
		done += len(cs)
	}
	reportClaims(b, done, time.Since(start), claims)
}

// BenchmarkRawClaimComplete is the floor for the same work: one SKIP
// LOCKED CTE feeding UPDATE … RETURNING per batch, then the completions,
// with no compliance data loaded, no attempt rows, no dialing mark and no
// tail: batched, the batch's completions in one multi-row UPDATE (as
// coalesced as group commit can ever get); per-row, one UPDATE each.
func BenchmarkRawClaimComplete(b *testing.B) {
	b.Run("batched", func(b *testing.B) { benchRawClaimComplete(b, true) })
	b.Run("per-row", func(b *testing.B) { benchRawClaimComplete(b, false) })
}

func benchRawClaimComplete(b *testing.B, batched bool) {
	_, schema, now := benchSchedule(b)
	ctx := b.Context()
	conn := rawConn(b, schema)
	var claims []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	done := 0
	for done < b.N {
		t0 := time.Now()
		ids, err := rawClaim(ctx, conn, now, benchBatch)
		claims = append(claims, time.Since(t0))
		require.NoError(b, err)
		require.NotEmpty(b, ids)
		if batched {
			require.NoError(b, rawComplete(ctx, conn, ids, now))
		} else {
			for _, id := range ids {
				require.NoError(b, rawComplete(ctx, conn, []string{id}, now))
			}
		}
		done += len(ids)
	}
	reportClaims(b, done, time.Since(start), claims)
}

func rawConn(b *testing.B, schema string) *pgx.Conn {
	cfg, err := pgx.ParseConfig(benchURL(b))
	require.NoError(b, err)
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(b.Context(), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// rawBatches claims and completes b.N due actions with the bare SQL, in
// batches of benchBatch (the baseline of the design ceilings' ratios), and
// returns the rate. The table holds exactly b.N due actions.
func rawBatches(b *testing.B, conn *pgx.Conn, now time.Time) float64 {
	ctx := b.Context()
	start := time.Now()
	done := 0
	for done < b.N {
		ids, err := rawClaim(ctx, conn, now, benchBatch)
		require.NoError(b, err)
		require.NotEmpty(b, ids)
		require.NoError(b, rawComplete(ctx, conn, ids, now))
		done += len(ids)
	}
	require.Equal(b, b.N, done)
	return float64(done) / time.Since(start).Seconds()
}

// rawClaim is the single claim CTE.
func rawClaim(ctx context.Context, conn *pgx.Conn, now time.Time, limit int) ([]string, error) {
	rows, err := conn.Query(ctx, `WITH due AS (
		SELECT id FROM actions WHERE state = 'scheduled' AND due_at <= $1 ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE actions a SET state = 'processing', lease_owner = 'raw', lease_expires_at = $2, fence = a.fence + 1
		FROM due WHERE a.id = due.id RETURNING a.id::text`, now, now.Add(time.Minute), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// rawComplete is the minimal completion of a batch: one statement.
func rawComplete(ctx context.Context, conn *pgx.Conn, ids []string, now time.Time) error {
	_, err := conn.Exec(ctx, `UPDATE actions SET state = 'completed', completed_at = $2, disposition = 'no_answer'
		WHERE id = ANY($1::uuid[]) AND state = 'processing'`, ids, now)
	return err
}
