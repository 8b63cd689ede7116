package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func deleteTests() []test {
	return []test{
		{"DeleteCadence", testDeleteCadence},
		{"DeleteCadenceNotFound", testDeleteCadenceNotFound},
		{"DeleteCadenceInUse", testDeleteCadenceInUse},
		{"DeleteCadenceForceStopsEnrollments", testDeleteCadenceForce},
		{"DeleteCadenceAfterEnrollmentsFinished", testDeleteCadenceFinished},
		{"DeleteCadenceLeavesOthers", testDeleteCadenceLeavesOthers},
		{"EnrollIntoDeletedCadence", testEnrollDeleted},
	}
}

// enrolled creates a contact with phone and enrolls it in cadence c.
func enrolled(t *testing.T, s engine.Store, c engine.Cadence, phone string) engine.Enrollment {
	t.Helper()
	es := enrollments(t, s)
	ct, err := es.UpsertContact(ctx(t), engine.Contact{Phone: phone, FirstName: "Ada"}, at(0))
	require.NoError(t, err)
	e, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, ContactID: ct.ID}, at(1))
	require.NoError(t, err)
	return e
}

// schedule adds a call action for step to e, due at minute due.
func schedule(t *testing.T, s engine.Store, e engine.Enrollment, step, due int) engine.ScheduledAction {
	t.Helper()
	a, err := enrollments(t, s).ScheduleAction(ctx(t), engine.ScheduledAction{
		EnrollmentID: e.ID, Step: step, Type: engine.StepCall, DueAt: at(due)}, at(1))
	require.NoError(t, err)
	return a
}

// requireGone checks that every read of cadence id says ErrNotFound.
func requireGone(t *testing.T, s engine.Store, id string) {
	t.Helper()
	_, err := s.GetCadence(ctx(t), id)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.ListVersions(ctx(t), id)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetVersion(ctx(t), id, 1)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.ActiveEnrollments(ctx(t), id)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.CadenceStats(ctx(t), id)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.UpdateCadence(ctx(t), id, Definition("again"), 0, at(99))
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.SetCadenceStatus(ctx(t), id, engine.StatusActive, at(99))
	require.ErrorIs(t, err, engine.ErrNotFound)
	items, _, err := s.ListCadences(ctx(t), engine.CadenceFilter{})
	require.NoError(t, err)
	require.NotContains(t, ids(items), id)
}

func testDeleteCadence(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	_, err := s.UpdateCadence(ctx(t), c.ID, Definition("c2"), 0, at(1))
	require.NoError(t, err)
	require.NoError(t, s.DeleteCadence(ctx(t), c.ID, false, at(2)))
	requireGone(t, s, c.ID)
}

func testDeleteCadenceNotFound(t *testing.T, s engine.Store) {
	require.ErrorIs(t, s.DeleteCadence(ctx(t), missingID, false, at(0)), engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteCadence(ctx(t), missingID, true, at(0)), engine.ErrNotFound)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	require.NoError(t, s.DeleteCadence(ctx(t), c.ID, false, at(1)))
	require.ErrorIs(t, s.DeleteCadence(ctx(t), c.ID, false, at(2)), engine.ErrNotFound, "deleting twice")
}

func testDeleteCadenceInUse(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e := enrolled(t, s, c, "+15125550100")
	a := schedule(t, s, e, 1, 10)
	err := s.DeleteCadence(ctx(t), c.ID, false, at(2))
	require.ErrorIs(t, err, engine.ErrInUse)
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, c.ID, got.ID)
	n, err := s.ActiveEnrollments(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	es := enrollments(t, s)
	ga, err := es.GetAction(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionScheduled, ga.State, "a refused delete changes nothing")
}

func testDeleteCadenceForce(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e1 := enrolled(t, s, c, "+15125550101")
	e2 := enrolled(t, s, c, "+15125550102")
	done := schedule(t, s, e1, 1, 5)
	_, err := es.CompleteAction(ctx(t), done.ID, "no_answer", at(5))
	require.NoError(t, err)
	pending1 := schedule(t, s, e1, 2, 50)
	pending2 := schedule(t, s, e2, 1, 60)

	require.NoError(t, s.DeleteCadence(ctx(t), c.ID, true, at(7)))
	requireGone(t, s, c.ID)
	for _, id := range []string{e1.ID, e2.ID} {
		e, err := es.GetEnrollment(ctx(t), id)
		require.NoError(t, err)
		require.Equal(t, engine.EnrollmentStopped, e.Status)
		require.Equal(t, engine.StopReasonCadenceDeleted, e.StopReason)
		require.NotNil(t, e.StoppedAt)
		require.Equal(t, stored(at(7)), *e.StoppedAt)
	}
	for _, id := range []string{pending1.ID, pending2.ID} {
		a, err := es.GetAction(ctx(t), id)
		require.NoError(t, err)
		require.Equal(t, engine.ActionCancelled, a.State)
	}
	a, err := es.GetAction(ctx(t), done.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCompleted, a.State, "history stays")
	require.Equal(t, "no_answer", a.Disposition)
}

func testDeleteCadenceFinished(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e := enrolled(t, s, c, "+15125550103")
	_, err := es.StopEnrollment(ctx(t), e.ID, "agent request", at(3))
	require.NoError(t, err)
	n, err := s.ActiveEnrollments(ctx(t), c.ID)
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, s.DeleteCadence(ctx(t), c.ID, false, at(4)))
	requireGone(t, s, c.ID)
	got, err := es.GetEnrollment(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, "agent request", got.StopReason, "a finished enrollment keeps its own reason")
}

func testDeleteCadenceLeavesOthers(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	gone := newCadence(t, s, "gone", engine.StatusActive, at(0))
	kept := newCadence(t, s, "kept", engine.StatusActive, at(0))
	eGone := enrolled(t, s, gone, "+15125550104")
	eKept, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: kept.ID, ContactID: eGone.ContactID}, at(1))
	require.NoError(t, err)
	aKept := schedule(t, s, eKept, 1, 30)
	require.NoError(t, s.DeleteCadence(ctx(t), gone.ID, true, at(2)))
	got, err := s.GetCadence(ctx(t), kept.ID)
	require.NoError(t, err)
	require.Equal(t, kept, got)
	e, err := es.GetEnrollment(ctx(t), eKept.ID)
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentActive, e.Status)
	a, err := es.GetAction(ctx(t), aKept.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionScheduled, a.State)
	n, err := s.ActiveEnrollments(ctx(t), kept.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func testEnrollDeleted(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	ct, err := es.UpsertContact(ctx(t), engine.Contact{Phone: "+15125550105"}, at(0))
	require.NoError(t, err)
	require.NoError(t, s.DeleteCadence(ctx(t), c.ID, false, at(1)))
	_, err = es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, ContactID: ct.ID}, at(2))
	require.ErrorIs(t, err, engine.ErrNotFound)
}
