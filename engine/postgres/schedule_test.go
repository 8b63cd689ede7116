package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/postgres"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestScheduleConformance(t *testing.T) {
	storetest.RunSchedule(t, func(t *testing.T) engine.ScheduleStore { return newStore(t) })
}

// benchSchedule fills a store with b.N due call actions, one per contact.
func benchSchedule(b *testing.B) (s *postgres.Store, schema string, now time.Time) {
	url := testURL(b)
	schema = newSchema(b, url)
	s = openIn(b, url, schema)
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
	return s, schema, now
}

// BenchmarkStoreClaimComplete is the store's path: claim in batches of 50
// (contact locks, candidate load, history, attempt row) and complete each
// with its fence.
func BenchmarkStoreClaimComplete(b *testing.B) {
	s, _, now := benchSchedule(b)
	ctx := b.Context()
	run := func(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
	}
	b.ResetTimer()
	done := 0
	for done < b.N {
		cs, err := s.Claim(ctx, engine.ClaimRequest{Owner: "bench", Now: now, Limit: 50, Lease: time.Minute, HistorySince: now.Add(-24 * time.Hour)}, run)
		require.NoError(b, err)
		require.NotEmpty(b, cs)
		for _, c := range cs {
			require.NoError(b, s.Complete(ctx, engine.Completion{ActionID: c.Action.ID, Fence: c.Fence, Disposition: "no_answer", Placed: true, Now: now}))
		}
		done += len(cs)
	}
}

// BenchmarkRawClaimComplete is the floor: one SKIP LOCKED CTE feeding
// UPDATE … RETURNING, then one UPDATE per completion, with no compliance
// data loaded and no attempt rows.
func BenchmarkRawClaimComplete(b *testing.B) {
	_, schema, now := benchSchedule(b)
	ctx := b.Context()
	cfg, err := pgx.ParseConfig(testURL(b))
	require.NoError(b, err)
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(b, err)
	defer conn.Close(ctx)
	b.ResetTimer()
	done := 0
	for done < b.N {
		var ids []string
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `WITH due AS (
				SELECT id FROM actions WHERE state = 'scheduled' AND due_at <= $1 ORDER BY due_at, id LIMIT 50 FOR UPDATE SKIP LOCKED)
				UPDATE actions a SET state = 'processing', lease_owner = 'raw', lease_expires_at = $2, fence = a.fence + 1
				FROM due WHERE a.id = due.id RETURNING a.id::text`, now, now.Add(time.Minute))
			if err != nil {
				return err
			}
			ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		require.NoError(b, err)
		require.NotEmpty(b, ids)
		for _, id := range ids {
			_, err := conn.Exec(ctx, `UPDATE actions SET state = 'completed', completed_at = $2, disposition = 'no_answer'
				WHERE id = $1 AND state = 'processing'`, id, now)
			require.NoError(b, err)
		}
		done += len(ids)
	}
}
