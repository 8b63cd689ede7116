package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// NewScheduleStore returns a fresh, migrated, empty schedule store.
type NewScheduleStore func(t *testing.T) engine.ScheduleStore

// RunSchedule runs the conformance cases of engine.ScheduleStore: claim,
// lease, fencing, rescue, attempts, blocks and do-not-call.
func RunSchedule(t *testing.T, newStore NewScheduleStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s engine.ScheduleStore)
	}{
		{"ClaimDueInOrder", testClaimDueInOrder},
		{"ClaimSeesOwnAttempts", testClaimSeesOwnAttempts},
		{"ClaimDeferAndStop", testClaimDeferAndStop},
		{"FenceAndComplete", testFenceAndComplete},
		{"Rescue", testRescue},
		{"DNC", testDNC},
		{"FinishAndPrevious", testFinishAndPrevious},
		{"AgentDisposition", testAgentDisposition},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentLastSlot", testConcurrentLastSlot},
		{"EnrollWithTail", testEnrollWithTail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func schedRunAll(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
	return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
}

// enrolled creates a cadence, a contact and an active enrollment.
func schedEnrolled(t *testing.T, s engine.ScheduleStore, phone string) (engine.Cadence, engine.Contact, engine.Enrollment) {
	t.Helper()
	cad, err := s.CreateCadence(ctx(t), Definition("sched "+phone), engine.StatusActive, at(0))
	require.NoError(t, err)
	c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: phone, TimeZone: "America/New_York"}, at(0))
	require.NoError(t, err)
	e, err := s.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, at(0))
	require.NoError(t, err)
	return cad, c, e
}

func schedAction(t *testing.T, s engine.ScheduleStore, e engine.Enrollment, step, due int) engine.ScheduledAction {
	t.Helper()
	a, err := s.InsertAction(ctx(t), engine.NewAction{EnrollmentID: e.ID, Step: step, Type: engine.StepCall, Attempt: 1, DueAt: at(due),
		Plan: engine.Plan{Run: 1, RunStarted: at(0), RuleRetries: map[string]int{"step0.rule0": 1}}}, nil, at(0))
	require.NoError(t, err)
	require.Equal(t, engine.ActionScheduled, a.State)
	return a
}

func schedClaim(t *testing.T, s engine.ScheduleStore, owner string, now, limit int, decide func(engine.ClaimCandidate) (engine.ClaimVerdict, error)) []engine.ClaimedAction {
	t.Helper()
	cs, err := s.Claim(ctx(t), engine.ClaimRequest{Owner: owner, Now: at(now), Limit: limit, Lease: 10 * time.Minute, HistorySince: at(-24 * 60)}, decide)
	require.NoError(t, err)
	return cs
}

func testClaimDueInOrder(t *testing.T, s engine.ScheduleStore) {
	cad, c, e := schedEnrolled(t, s, "+12125550100")
	late := schedAction(t, s, e, 2, 20)
	early := schedAction(t, s, e, 1, 10)
	schedAction(t, s, e, 3, 30)
	next, ok, err := s.NextDue(ctx(t))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, stored(at(10)), next)

	require.Empty(t, schedClaim(t, s, "n1", 5, 10, schedRunAll), "nothing due yet")
	cs := schedClaim(t, s, "n1", 25, 10, schedRunAll)
	require.Len(t, cs, 2)
	require.Equal(t, early.ID, cs[0].Action.ID, "oldest due first")
	require.Equal(t, late.ID, cs[1].Action.ID)
	got := cs[0]
	require.Positive(t, got.Fence)
	require.Equal(t, engine.ActionProcessing, got.Action.State)
	require.Equal(t, "n1", got.Action.LeaseOwner)
	require.Equal(t, stored(at(25)), got.StartedAt)
	require.Equal(t, cad.ID, got.Enrollment.CadenceID)
	require.Equal(t, c.Phone, got.Contact.Phone)
	require.Equal(t, engine.StatusActive, got.CadenceStatus)
	require.Equal(t, cad.Definition.Name, got.Definition.Name)
	require.Equal(t, 1, got.Plan.Run)
	require.Equal(t, map[string]int{"step0.rule0": 1}, got.Plan.RuleRetries)
	require.Equal(t, stored(at(0)), got.Plan.RunStarted)

	as, err := s.ContactAttempts(ctx(t), c.ID, at(-60))
	require.NoError(t, err)
	require.Len(t, as, 2, "a claim records the attempt at once")
	require.Equal(t, stored(at(25)), as[0].At)
	require.Equal(t, engine.StepCall, as[0].Channel)

	require.Len(t, schedClaim(t, s, "n1", 25, 1, schedRunAll), 0, "claimed rows are not claimed again")
	require.Len(t, schedClaim(t, s, "n1", 35, 5, schedRunAll), 1)
}

func testClaimSeesOwnAttempts(t *testing.T, s engine.ScheduleStore) {
	_, c, e := schedEnrolled(t, s, "+12125550101")
	schedAction(t, s, e, 1, 10)
	schedAction(t, s, e, 2, 11)
	var seen []int
	cs := schedClaim(t, s, "n1", 20, 10, func(cand engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		seen = append(seen, len(cand.History))
		require.Equal(t, c.ID, cand.Contact.ID)
		if len(cand.History) > 0 {
			return engine.ClaimVerdict{Kind: engine.VerdictDefer, DueAt: at(60)}, nil
		}
		return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
	})
	require.Len(t, cs, 1)
	require.Equal(t, []int{0, 1}, seen, "the second candidate sees the first one's attempt")
}

func testClaimDeferAndStop(t *testing.T, s engine.ScheduleStore) {
	_, c, e := schedEnrolled(t, s, "+12125550102")
	a := schedAction(t, s, e, 1, 10)
	cs := schedClaim(t, s, "n1", 10, 10, func(cand engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		return engine.ClaimVerdict{Kind: engine.VerdictDefer, DueAt: at(90),
			Block: &engine.BlockRecord{ContactID: cand.Contact.ID, At: at(10), Code: "legal_window", Reason: "closed", NextEligible: at(90)}}, nil
	})
	require.Empty(t, cs)
	got, err := s.GetAction(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionScheduled, got.State)
	require.Equal(t, stored(at(90)), got.DueAt)
	bs, err := s.ContactBlocks(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, bs, 1)
	require.Equal(t, a.ID, bs[0].ActionID)
	require.Equal(t, "legal_window", bs[0].Code)
	require.Equal(t, stored(at(90)), bs[0].NextEligible)

	_, err = s.Claim(ctx(t), engine.ClaimRequest{Owner: "n1", Now: at(95), Limit: 1, Lease: time.Minute},
		func(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
			return engine.ClaimVerdict{Kind: engine.VerdictDefer, DueAt: at(95)}, nil
		})
	require.Error(t, err, "a deferral must move the action forward")

	schedClaim(t, s, "n1", 95, 10, func(engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		return engine.ClaimVerdict{Kind: engine.VerdictStop, StopReason: "dnc"}, nil
	})
	got, err = s.GetAction(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCancelled, got.State)
	en, err := s.GetEnrollment(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentStopped, en.Status)
	require.Equal(t, "dnc", en.StopReason)
}

func testFenceAndComplete(t *testing.T, s engine.ScheduleStore) {
	_, c, e := schedEnrolled(t, s, "+12125550103")
	schedAction(t, s, e, 1, 10)
	ca := schedClaim(t, s, "n1", 10, 1, schedRunAll)[0]
	require.ErrorIs(t, s.MarkDialing(ctx(t), ca.Action.ID, ca.Fence+1, at(10)), engine.ErrConflict)
	require.NoError(t, s.MarkDialing(ctx(t), ca.Action.ID, ca.Fence, at(10)))
	err := s.Complete(ctx(t), engine.Completion{ActionID: ca.Action.ID, Fence: ca.Fence - 1, Disposition: "busy", Placed: true, Now: at(11)})
	require.ErrorIs(t, err, engine.ErrConflict)
	next := &engine.NewAction{Step: 1, Type: engine.StepCall, Attempt: 2, DueAt: at(250), Plan: engine.Plan{Run: 1, RunStarted: at(0)}}
	block := &engine.BlockRecord{ContactID: c.ID, At: at(11), Code: "cadence_hours", Reason: "closed", NextEligible: at(250)}
	require.NoError(t, s.Complete(ctx(t), engine.Completion{ActionID: ca.Action.ID, Fence: ca.Fence, Disposition: "busy", Placed: true, Now: at(11),
		Tail: engine.Tail{Next: next, Block: block}}))
	err = s.Complete(ctx(t), engine.Completion{ActionID: ca.Action.ID, Fence: ca.Fence, Disposition: "busy", Placed: true, Now: at(12)})
	require.ErrorIs(t, err, engine.ErrConflict, "completing twice")

	done, err := s.GetAction(ctx(t), ca.Action.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCompleted, done.State)
	require.Equal(t, "busy", done.Disposition)
	as, err := s.ContactAttempts(ctx(t), c.ID, at(0))
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Equal(t, "busy", as[0].Disposition)
	due, ok, err := s.NextDue(ctx(t))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, stored(at(250)), due)
	bs, err := s.ContactBlocks(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, bs, 1)
	require.NotEmpty(t, bs[0].ActionID, "the block names the moved action")

	// A call that never left is forgotten by the limits.
	ca2 := schedClaim(t, s, "n1", 250, 1, schedRunAll)[0]
	require.Equal(t, 2, ca2.Action.Attempt)
	require.NoError(t, s.Complete(ctx(t), engine.Completion{ActionID: ca2.Action.ID, Fence: ca2.Fence, Disposition: "failed", Placed: false, Now: at(251),
		Tail: engine.Tail{Finish: &engine.Finish{Status: engine.EnrollmentCompleted, Reason: "all runs done"}}}))
	as, err = s.ContactAttempts(ctx(t), c.ID, at(0))
	require.NoError(t, err)
	require.Len(t, as, 1)
	en, err := s.GetEnrollment(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentCompleted, en.Status)
}

func testRescue(t *testing.T, s engine.ScheduleStore) {
	_, c, e := schedEnrolled(t, s, "+12125550104")
	schedAction(t, s, e, 1, 10)
	schedAction(t, s, e, 2, 10)
	cs := schedClaim(t, s, "dead", 10, 2, schedRunAll)
	require.Len(t, cs, 2)
	require.NoError(t, s.MarkDialing(ctx(t), cs[1].Action.ID, cs[1].Fence, at(10)))
	require.ErrorIs(t, s.ExtendLease(ctx(t), cs[1].Action.ID, cs[1].Fence+1, at(100)), engine.ErrConflict)
	require.NoError(t, s.ExtendLease(ctx(t), cs[1].Action.ID, cs[1].Fence, at(28)), "a heartbeat keeps the lease")

	returned, doubt, err := s.Rescue(ctx(t), "rescuer", at(15), 10*time.Minute, at(-60))
	require.NoError(t, err)
	require.Zero(t, returned, "leases not expired yet")
	require.Empty(t, doubt)

	returned, doubt, err = s.Rescue(ctx(t), "rescuer", at(21), 10*time.Minute, at(-60))
	require.NoError(t, err)
	require.Equal(t, 1, returned)
	require.Empty(t, doubt, "the extended lease holds until minute 28")
	returned, doubt, err = s.Rescue(ctx(t), "rescuer", at(28), 10*time.Minute, at(-60))
	require.NoError(t, err)
	require.Zero(t, returned)
	require.Len(t, doubt, 1)
	require.Equal(t, cs[1].Action.ID, doubt[0].Action.ID)
	require.Greater(t, doubt[0].Fence, cs[1].Fence)
	require.Equal(t, stored(at(10)), doubt[0].StartedAt)
	require.Len(t, doubt[0].History, 1, "the in-doubt attempt still counts")

	back, err := s.GetAction(ctx(t), cs[0].Action.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionScheduled, back.State)
	require.ErrorIs(t, s.Complete(ctx(t), engine.Completion{ActionID: cs[0].Action.ID, Fence: cs[0].Fence, Disposition: "human", Placed: true, Now: at(22)}),
		engine.ErrConflict, "the dead node's fence is stale")
	require.ErrorIs(t, s.Complete(ctx(t), engine.Completion{ActionID: cs[1].Action.ID, Fence: cs[1].Fence, Disposition: "human", Placed: true, Now: at(22)}),
		engine.ErrConflict)
	require.NoError(t, s.Complete(ctx(t), engine.Completion{ActionID: doubt[0].Action.ID, Fence: doubt[0].Fence, Disposition: "unknown", Placed: true, Now: at(22)}))
	as, err := s.ContactAttempts(ctx(t), c.ID, at(0))
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Equal(t, "unknown", as[0].Disposition)

	again := schedClaim(t, s, "n2", 22, 5, schedRunAll)
	require.Len(t, again, 1)
	require.Equal(t, cs[0].Action.ID, again[0].Action.ID)
}

func testDNC(t *testing.T, s engine.ScheduleStore) {
	_, c, e := schedEnrolled(t, s, "+12125550105")
	a := schedAction(t, s, e, 1, 10)
	cad2, err := s.CreateCadence(ctx(t), Definition("second"), engine.StatusActive, at(0))
	require.NoError(t, err)
	e2, err := s.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: cad2.ID, ContactID: c.ID}, at(0))
	require.NoError(t, err)

	ok, err := s.IsDNC(ctx(t), c.Phone)
	require.NoError(t, err)
	require.False(t, ok)
	n, err := s.AddDNC(ctx(t), c.Phone, "asked", at(5))
	require.NoError(t, err)
	require.Equal(t, 2, n, "both enrollments stop")
	n, err = s.AddDNC(ctx(t), c.Phone, "again", at(6))
	require.NoError(t, err)
	require.Zero(t, n)
	ok, err = s.IsDNC(ctx(t), c.Phone)
	require.NoError(t, err)
	require.True(t, ok)
	got, err := s.GetAction(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCancelled, got.State)
	for _, id := range []string{e.ID, e2.ID} {
		en, err := s.GetEnrollment(ctx(t), id)
		require.NoError(t, err)
		require.Equal(t, engine.EnrollmentStopped, en.Status)
	}
	require.NoError(t, s.RemoveDNC(ctx(t), c.Phone))
	require.ErrorIs(t, s.RemoveDNC(ctx(t), c.Phone), engine.ErrNotFound)

	// A dnc tail stops the contact's other enrollments in the same transaction.
	e3, err := s.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: e.CadenceID, ContactID: c.ID}, at(30))
	require.NoError(t, err)
	e4, err := s.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: cad2.ID, ContactID: c.ID}, at(30))
	require.NoError(t, err)
	schedAction(t, s, e3, 1, 40)
	other := schedAction(t, s, e4, 1, 400)
	ca := schedClaim(t, s, "n1", 40, 1, func(cand engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		require.False(t, cand.DNC)
		return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
	})[0]
	require.NoError(t, s.Complete(ctx(t), engine.Completion{ActionID: ca.Action.ID, Fence: ca.Fence, Disposition: "invalid_number", Placed: true, Now: at(41),
		Tail: engine.Tail{DNC: true}}))
	got, err = s.GetAction(ctx(t), other.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCancelled, got.State)
	ok, err = s.IsDNC(ctx(t), c.Phone)
	require.NoError(t, err)
	require.True(t, ok)
}

func testFinishAndPrevious(t *testing.T, s engine.ScheduleStore) {
	cad, c, e := schedEnrolled(t, s, "+12125550106")
	a := schedAction(t, s, e, 1, 10)
	n, err := s.PreviousEnrollments(ctx(t), cad.ID, c.ID)
	require.NoError(t, err)
	require.Zero(t, n)
	en, err := s.FinishEnrollment(ctx(t), e.ID, engine.Finish{Status: engine.EnrollmentCompleted, Reason: "converted"},
		&engine.BlockRecord{ContactID: c.ID, At: at(5), Code: "x", Reason: "y"}, at(5))
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentCompleted, en.Status)
	require.Equal(t, "converted", en.StopReason)
	_, err = s.FinishEnrollment(ctx(t), e.ID, engine.Finish{Status: engine.EnrollmentStopped}, nil, at(6))
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = s.FinishEnrollment(ctx(t), "nope", engine.Finish{Status: engine.EnrollmentStopped}, nil, at(6))
	require.ErrorIs(t, err, engine.ErrNotFound)
	got, err := s.GetAction(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCancelled, got.State)
	n, err = s.PreviousEnrollments(ctx(t), cad.ID, c.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = s.InsertAction(ctx(t), engine.NewAction{EnrollmentID: e.ID, Step: 1, Type: engine.StepCall, DueAt: at(9)}, nil, at(7))
	require.ErrorIs(t, err, engine.ErrConflict)
}

func testAgentDisposition(t *testing.T, s engine.ScheduleStore) {
	_, _, e := schedEnrolled(t, s, "+12125550107")
	schedAction(t, s, e, 1, 10)
	ca := schedClaim(t, s, "n1", 10, 1, schedRunAll)[0]
	require.ErrorIs(t, s.ApplyAgentDisposition(ctx(t), ca.Action.ID, "converted", engine.Tail{}, at(11)), engine.ErrConflict)
	next := &engine.NewAction{Step: 2, Type: engine.StepCall, Attempt: 1, DueAt: at(100), Plan: engine.Plan{Run: 1}}
	require.NoError(t, s.Complete(ctx(t), engine.Completion{ActionID: ca.Action.ID, Fence: ca.Fence, Disposition: "human", Placed: true, Now: at(12),
		Tail: engine.Tail{Next: next}}))
	require.NoError(t, s.ApplyAgentDisposition(ctx(t), ca.Action.ID, "not_interested",
		engine.Tail{Finish: &engine.Finish{Status: engine.EnrollmentStopped, Reason: "not_interested → stop"}}, at(20)))
	_, ok, err := s.NextDue(ctx(t))
	require.NoError(t, err)
	require.False(t, ok, "the scheduled step 2 was cancelled")
	cand, err := s.ActionCandidate(ctx(t), ca.Action.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCompleted, cand.Action.State)
	require.Equal(t, engine.EnrollmentStopped, cand.Enrollment.Status)
	require.ErrorIs(t, s.ApplyAgentDisposition(ctx(t), "nope", "x", engine.Tail{}, at(21)), engine.ErrNotFound)
	_, err = s.ActionCandidate(ctx(t), "nope")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testConcurrentClaims(t *testing.T, s engine.ScheduleStore) {
	const n = 30
	for i := range n {
		_, _, e := schedEnrolled(t, s, fmt.Sprintf("+1212555%04d", 200+i))
		schedAction(t, s, e, 1, 10)
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for {
				cs, err := s.Claim(ctx(t), engine.ClaimRequest{Owner: fmt.Sprintf("w%d", w), Now: at(10), Limit: 3, Lease: time.Minute}, schedRunAll)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					claimed[c.Action.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, claimed, n)
	for id, k := range claimed {
		require.Equal(t, 1, k, "action %s claimed %d times", id, k)
	}
}

// Two claimers racing for a contact's last slot: the decision reads the
// history inside the claim transaction, so only one passes.
func testConcurrentLastSlot(t *testing.T, s engine.ScheduleStore) {
	_, _, e := schedEnrolled(t, s, "+12125550300")
	for i := range 6 {
		schedAction(t, s, e, 1, 10+i)
	}
	oneSlot := func(c engine.ClaimCandidate) (engine.ClaimVerdict, error) {
		if len(c.History) > 0 {
			return engine.ClaimVerdict{Kind: engine.VerdictDefer, DueAt: at(1000)}, nil
		}
		return engine.ClaimVerdict{Kind: engine.VerdictRun}, nil
	}
	var mu sync.Mutex
	total := 0
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			cs, err := s.Claim(ctx(t), engine.ClaimRequest{Owner: fmt.Sprintf("w%d", w), Now: at(20), Limit: 1, Lease: time.Minute, HistorySince: at(0)}, oneSlot)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			total += len(cs)
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, 1, total)
}

func testEnrollWithTail(t *testing.T, s engine.ScheduleStore) {
	cad, err := s.CreateCadence(ctx(t), Definition("enroll"), engine.StatusActive, at(0))
	require.NoError(t, err)
	c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: "+12125550400"}, at(0))
	require.NoError(t, err)
	next := &engine.NewAction{Step: 1, Type: engine.StepCall, Attempt: 1, DueAt: at(30), Plan: engine.Plan{Run: 1, RunStarted: at(1)}}
	block := &engine.BlockRecord{ContactID: c.ID, At: at(1), Code: "legal_window", Reason: "closed", NextEligible: at(30)}
	e, err := s.EnrollWithTail(ctx(t), engine.Enrollment{CadenceID: cad.ID, CadenceVersion: 1, ContactID: c.ID}, engine.Tail{Next: next, Block: block}, at(1))
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentActive, e.Status)
	require.Equal(t, 1, e.CadenceVersion)
	require.Equal(t, stored(at(1)), e.CreatedAt)
	due, ok, err := s.NextDue(ctx(t))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, stored(at(30)), due)
	bs, err := s.ContactBlocks(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, bs, 1)
	require.NotEmpty(t, bs[0].ActionID)

	_, err = s.EnrollWithTail(ctx(t), engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, engine.Tail{Next: next}, at(2))
	require.ErrorIs(t, err, engine.ErrConflict, "already active")
	_, err = s.EnrollWithTail(ctx(t), engine.Enrollment{CadenceID: cad.ID, CadenceVersion: 9, ContactID: c.ID}, engine.Tail{}, at(2))
	require.ErrorIs(t, err, engine.ErrNotFound, "unknown version")

	// An enrollment that cannot be placed ends at once, with its reason.
	c2, err := s.UpsertContact(ctx(t), engine.Contact{Phone: "+18005550401"}, at(0))
	require.NoError(t, err)
	e2, err := s.EnrollWithTail(ctx(t), engine.Enrollment{CadenceID: cad.ID, ContactID: c2.ID},
		engine.Tail{Finish: &engine.Finish{Status: engine.EnrollmentStopped, Reason: "no zone"}}, at(3))
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentStopped, e2.Status)
	require.Equal(t, "no zone", e2.StopReason)
}
