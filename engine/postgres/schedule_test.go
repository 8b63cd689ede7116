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

// TestClaimSeesEarlierVerdicts: the set-based claim loads every candidate
// before deciding, so what earlier verdicts in the same claim changed (a
// stopped enrollment, cancelled siblings, a new attempt) must reach later
// candidates as a reload from the database would have shown it.
func TestClaimSeesEarlierVerdicts(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 2, 14, 30, 0, 123456789, time.UTC)
	cad, err := s.CreateCadence(ctx, storetest.Definition("verdicts"), engine.StatusActive, t0)
	require.NoError(t, err)
	c, err := s.UpsertContact(ctx, engine.Contact{Phone: "+12125550199", TimeZone: "America/New_York"}, t0)
	require.NoError(t, err)
	cad2, err := s.CreateCadence(ctx, storetest.Definition("verdicts 2"), engine.StatusActive, t0)
	require.NoError(t, err)
	stopE, err := s.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, t0)
	require.NoError(t, err)
	runE, err := s.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad2.ID, ContactID: c.ID}, t0)
	require.NoError(t, err)
	insert := func(e engine.Enrollment, step, due int) engine.ScheduledAction {
		a, err := s.InsertAction(ctx, engine.NewAction{EnrollmentID: e.ID, Step: step, Type: engine.StepCall, DueAt: t0.Add(time.Duration(due) * time.Minute)}, nil, t0)
		require.NoError(t, err)
		return a
	}
	first := insert(stopE, 1, 1)
	run := insert(runE, 1, 2)
	sibling := insert(stopE, 2, 3)
	last := insert(runE, 2, 4)
	now := t0.Add(10 * time.Minute)
	seen := map[string]engine.ClaimCandidate{}
	cs, err := s.Claim(ctx, engine.ClaimRequest{Owner: "n1", Now: now, Limit: 10, Lease: time.Minute, HistorySince: t0.Add(-time.Hour)},
		func(cand engine.ClaimCandidate) (engine.ClaimVerdict, error) {
			seen[cand.Action.ID] = cand
			switch cand.Action.ID {
			case first.ID:
				return engine.ClaimVerdict{Kind: engine.VerdictStop, StopReason: "opted out"}, nil
			case run.ID:
				return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
			default:
				return engine.ClaimVerdict{Kind: engine.VerdictDefer, DueAt: now.Add(time.Hour)}, nil
			}
		})
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, run.ID, cs[0].Action.ID)
	require.Len(t, seen, 4)

	require.Equal(t, engine.EnrollmentActive, seen[first.ID].Enrollment.Status)
	sib := seen[sibling.ID]
	require.Equal(t, engine.EnrollmentStopped, sib.Enrollment.Status, "the sibling sees its enrollment stopped")
	require.Equal(t, "opted out", sib.Enrollment.StopReason)
	stopped, err := s.GetEnrollment(ctx, stopE.ID)
	require.NoError(t, err)
	require.Equal(t, stopped, sib.Enrollment, "as a reload would show it")
	require.Equal(t, engine.ActionCancelled, sib.Action.State, "cancelled with its enrollment")

	require.Empty(t, seen[first.ID].History)
	require.Empty(t, seen[run.ID].History)
	attempt := []engine.Attempt{{ActionID: run.ID, ContactID: c.ID, EnrollmentID: runE.ID, Channel: engine.StepCall,
		At: now.Truncate(time.Microsecond)}}
	require.Equal(t, attempt, seen[sibling.ID].History, "the run's attempt counts at once")
	require.Equal(t, attempt, seen[last.ID].History)

	got, err := s.GetAction(ctx, sibling.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCancelled, got.State, "a deferral of a cancelled action leaves it cancelled")
	got, err = s.GetAction(ctx, last.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionScheduled, got.State)
	require.Equal(t, now.Add(time.Hour).Truncate(time.Microsecond), got.DueAt)

	// A reload of the claimed action sees the same attempt time.
	again, err := s.Claim(ctx, engine.ClaimRequest{Owner: "n1", Now: now.Add(2 * time.Hour), Limit: 10, Lease: time.Minute, HistorySince: t0.Add(-time.Hour)},
		func(cand engine.ClaimCandidate) (engine.ClaimVerdict, error) {
			require.Equal(t, seen[last.ID].History, cand.History)
			return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
		})
	require.NoError(t, err)
	require.Len(t, again, 1)
}
