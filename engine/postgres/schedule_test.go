package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/storetest"
)

func TestScheduleConformance(t *testing.T) {
	storetest.RunSchedule(t, func(t *testing.T) engine.ScheduleStore { return newStore(t) })
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
