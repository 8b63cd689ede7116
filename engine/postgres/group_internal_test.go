package postgres

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// groupFixture is a migrated store with n claimed call actions, one per
// contact and enrollment.
func groupFixture(t *testing.T, n int) (*Store, []engine.ClaimedAction, time.Time) {
	t.Helper()
	url, schema := testSchema(t)
	s, err := Open(t.Context(), url, WithSchema(schema), WithMaxConns(4))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(t.Context()))
	ctx := t.Context()
	now := time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC)
	def := engine.Definition{Name: "group", TimeZone: "America/New_York", Runs: engine.Runs{Total: 1},
		Steps: []engine.Step{{Name: "call", Type: engine.StepCall, Call: &engine.CallStep{}}, {Name: "again", Type: engine.StepCall, Call: &engine.CallStep{}}}}
	cad, err := s.CreateCadence(ctx, def, engine.StatusActive, now)
	require.NoError(t, err)
	for i := range n {
		c, err := s.UpsertContact(ctx, engine.Contact{Phone: fmt.Sprintf("+1212555%04d", i)}, now)
		require.NoError(t, err)
		e, err := s.CreateEnrollment(ctx, engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, now)
		require.NoError(t, err)
		_, err = s.InsertAction(ctx, engine.NewAction{EnrollmentID: e.ID, Step: 1, Type: engine.StepCall, DueAt: now}, nil, now)
		require.NoError(t, err)
	}
	cs, err := s.Claim(ctx, engine.ClaimRequest{Owner: "n1", Now: now, Limit: n, Lease: time.Minute, HistorySince: now.Add(-time.Hour)},
		func(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
			return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
		})
	require.NoError(t, err)
	require.Len(t, cs, n)
	return s, cs, now
}

func newOp(mark bool, id string, fence int64, c engine.Completion) *groupOp {
	return &groupOp{mark: mark, id: id, fence: fence, c: c, done: make(chan struct{})}
}

// TestRunGroup drives one group directly, so the shared transaction is what
// runs: each op gets its own result, stale fences change nothing, tails are
// written, and ops that cannot share the transaction run alone.
func TestRunGroup(t *testing.T) {
	t.Parallel()
	s, cs, now := groupFixture(t, 6)
	ctx := t.Context()
	q, err := loadScheduleQueries()
	require.NoError(t, err)
	later := now.Add(time.Hour)
	finish := engine.Tail{Finish: &engine.Finish{Status: engine.EnrollmentCompleted, Reason: "done"}}
	next := func(ca engine.ClaimedAction) engine.Tail {
		return engine.Tail{Next: &engine.NewAction{Step: 2, Type: engine.StepCall, Attempt: 1, DueAt: later},
			Block: &engine.BlockRecord{ContactID: ca.Contact.ID, At: now, Code: "cadence_hours", Reason: "closed", NextEligible: later}}
	}
	complete := func(ca engine.ClaimedAction, fence int64, placed bool, t engine.Tail) engine.Completion {
		return engine.Completion{ActionID: ca.Action.ID, Fence: fence, Disposition: "no_answer", Placed: placed, Now: now, Tail: t}
	}
	ops := []*groupOp{
		newOp(true, cs[0].Action.ID, cs[0].Fence, engine.Completion{}),                      // mark: ok
		newOp(true, cs[1].Action.ID, cs[1].Fence+1, engine.Completion{}),                    // mark: stale
		newOp(false, cs[2].Action.ID, 0, complete(cs[2], cs[2].Fence, true, finish)),        // ok, finishes
		newOp(false, cs[3].Action.ID, 0, complete(cs[3], cs[3].Fence, false, next(cs[3]))),  // ok, next + block
		newOp(false, cs[4].Action.ID, 0, complete(cs[4], cs[4].Fence-1, true, finish)),      // stale
		newOp(false, cs[4].Action.ID, 0, complete(cs[4], cs[4].Fence, true, engine.Tail{})), // same action: alone, after
	}
	s.runGroup(ctx, q, ops, nil)
	require.NoError(t, ops[0].err)
	require.ErrorIs(t, ops[1].err, engine.ErrConflict)
	require.NoError(t, ops[2].err)
	require.NoError(t, ops[3].err)
	require.ErrorIs(t, ops[4].err, engine.ErrConflict)
	require.NoError(t, ops[5].err, "the second op of an action runs alone, after the group")
	for _, op := range ops {
		select {
		case <-op.done:
		default:
			t.Fatalf("op %s not released", op.id)
		}
	}

	var dialing bool
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT dialing FROM actions WHERE id = $1", cs[0].Action.ID).Scan(&dialing))
	require.True(t, dialing)
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT dialing FROM actions WHERE id = $1", cs[1].Action.ID).Scan(&dialing))
	require.False(t, dialing, "a stale mark changes nothing")

	e2, err := s.GetEnrollment(ctx, cs[2].Enrollment.ID)
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentCompleted, e2.Status)
	as, err := s.ContactAttempts(ctx, cs[2].Contact.ID, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Equal(t, "no_answer", as[0].Disposition)

	as, err = s.ContactAttempts(ctx, cs[3].Contact.ID, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Empty(t, as, "a call that never left is forgotten")
	due, ok, err := s.NextDue(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, later, due, "the next action is scheduled")
	bs, err := s.ContactBlocks(ctx, cs[3].Contact.ID)
	require.NoError(t, err)
	require.Len(t, bs, 1)
	moved, err := s.GetAction(ctx, bs[0].ActionID)
	require.NoError(t, err, "the block names the new action")
	require.Equal(t, 2, moved.Step)

	a4, err := s.GetAction(ctx, cs[4].Action.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCompleted, a4.State)
	e4, err := s.GetEnrollment(ctx, cs[4].Enrollment.ID)
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentActive, e4.Status, "the stale completion's tail did not run")
}

// TestRunGroupMarksOnly: a group of dialing marks alone is one statement
// of its own; each mark still gets its own result.
func TestRunGroupMarksOnly(t *testing.T) {
	t.Parallel()
	s, cs, _ := groupFixture(t, 3)
	ctx := t.Context()
	q, err := loadScheduleQueries()
	require.NoError(t, err)
	ops := []*groupOp{
		newOp(true, cs[0].Action.ID, cs[0].Fence, engine.Completion{}),
		newOp(true, cs[1].Action.ID, cs[1].Fence+1, engine.Completion{}), // stale
		newOp(true, cs[2].Action.ID, cs[2].Fence, engine.Completion{}),
	}
	s.runGroup(ctx, q, ops, nil)
	require.NoError(t, ops[0].err)
	require.ErrorIs(t, ops[1].err, engine.ErrConflict)
	require.NoError(t, ops[2].err)
	for i, want := range []bool{true, false, true} {
		var dialing bool
		require.NoError(t, s.pool.QueryRow(ctx, "SELECT dialing FROM actions WHERE id = $1", cs[i].Action.ID).Scan(&dialing))
		require.Equal(t, want, dialing, "action %d", i)
	}
}

// TestRunGroupFallsBack: when a tail cannot be written as the group
// expects (here: two outcomes of one enrollment), the group rolls back and
// every op runs alone, with the results a lone call gives.
func TestRunGroupFallsBack(t *testing.T) {
	t.Parallel()
	s, cs, now := groupFixture(t, 2)
	ctx := t.Context()
	q, err := loadScheduleQueries()
	require.NoError(t, err)
	// A second action of the first enrollment, claimed too.
	_, err = s.InsertAction(ctx, engine.NewAction{EnrollmentID: cs[0].Enrollment.ID, Step: 2, Type: engine.StepCall, DueAt: now}, nil, now)
	require.NoError(t, err)
	more, err := s.Claim(ctx, engine.ClaimRequest{Owner: "n1", Now: now, Limit: 5, Lease: time.Minute},
		func(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
			return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
		})
	require.NoError(t, err)
	require.Len(t, more, 1)
	finish := engine.Tail{Finish: &engine.Finish{Status: engine.EnrollmentStopped, Reason: "stop"}}
	ops := []*groupOp{
		newOp(false, cs[0].Action.ID, 0, engine.Completion{ActionID: cs[0].Action.ID, Fence: cs[0].Fence, Disposition: "busy", Placed: true, Now: now, Tail: finish}),
		newOp(false, more[0].Action.ID, 0, engine.Completion{ActionID: more[0].Action.ID, Fence: more[0].Fence, Disposition: "busy", Placed: true, Now: now, Tail: finish}),
		newOp(true, cs[1].Action.ID, cs[1].Fence, engine.Completion{}),
	}
	s.runGroup(ctx, q, ops, nil)
	require.NoError(t, ops[2].err)
	// Alone, in order: the first stops the enrollment, which cancels
	// nothing processing; the second finds it finished and leaves it.
	require.NoError(t, ops[0].err)
	require.NoError(t, ops[1].err)
	e, err := s.GetEnrollment(ctx, cs[0].Enrollment.ID)
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentStopped, e.Status)
	for _, id := range []string{cs[0].Action.ID, more[0].Action.ID} {
		a, err := s.GetAction(ctx, id)
		require.NoError(t, err)
		require.Equal(t, engine.ActionCompleted, a.State)
	}
}

// TestGroupedConcurrent: many callers at once, through the public methods.
// Each gets its own answer, whoever leads the group it lands in.
func TestGroupedConcurrent(t *testing.T) {
	t.Parallel()
	const n = 24
	s, cs, now := groupFixture(t, n)
	ctx := t.Context()
	errs := make([][3]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, ca := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fence := ca.Fence
			if i%3 == 0 {
				fence++ // stale: every call is a conflict
			}
			errs[i][0] = s.MarkDialing(ctx, ca.Action.ID, fence, now)
			errs[i][1] = s.Complete(ctx, engine.Completion{ActionID: ca.Action.ID, Fence: fence, Disposition: "human", Placed: true, Now: now,
				Tail: engine.Tail{Finish: &engine.Finish{Status: engine.EnrollmentCompleted, Reason: "done"}}})
			errs[i][2] = s.Complete(ctx, engine.Completion{ActionID: ca.Action.ID, Fence: ca.Fence, Disposition: "human", Placed: true, Now: now})
		}()
	}
	close(start)
	wg.Wait()
	for i, ca := range cs {
		a, err := s.GetAction(ctx, ca.Action.ID)
		require.NoError(t, err)
		require.Equal(t, engine.ActionCompleted, a.State)
		e, err := s.GetEnrollment(ctx, ca.Enrollment.ID)
		require.NoError(t, err)
		if i%3 == 0 {
			require.ErrorIs(t, errs[i][0], engine.ErrConflict)
			require.ErrorIs(t, errs[i][1], engine.ErrConflict)
			require.NoError(t, errs[i][2], "the right fence completes it")
			require.Equal(t, engine.EnrollmentActive, e.Status)
			continue
		}
		require.NoError(t, errs[i][0])
		require.NoError(t, errs[i][1])
		require.ErrorIs(t, errs[i][2], engine.ErrConflict, "completing twice")
		require.Equal(t, engine.EnrollmentCompleted, e.Status)
	}
	require.Zero(t, s.commits.running)
	require.Empty(t, s.commits.pending)
}
