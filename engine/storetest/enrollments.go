package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func enrollmentTests() []test {
	return []test{
		{"ContactUpsertByPhone", testContactUpsert},
		{"ContactNotFound", testContactNotFound},
		{"EnrollmentPinsVersion", testEnrollmentPinsVersion},
		{"EnrollmentUnknownRefs", testEnrollmentUnknownRefs},
		{"EnrollmentOneActivePerContact", testEnrollmentOneActive},
		{"EnrollmentStop", testEnrollmentStop},
		{"ActionScheduleComplete", testActionScheduleComplete},
		{"ActionRefusedForFinishedEnrollment", testActionFinishedEnrollment},
		{"ActiveEnrollmentsCount", testActiveEnrollmentsCount},
		{"CadenceStatsEmpty", testCadenceStatsEmpty},
		{"CadenceStatsCounts", testCadenceStatsCounts},
	}
}

func testContactUpsert(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	in := engine.Contact{Phone: "+15125550111", FirstName: "Ada", LastName: "Lovelace", TimeZone: "America/Chicago",
		State: "TX", Zip: "78701", Owner: "ana", Fields: map[string]string{"source": "web", "score": "7"}}
	c, err := es.UpsertContact(ctx(t), in, at(0))
	require.NoError(t, err)
	require.NotEmpty(t, c.ID)
	want := in
	want.ID, want.CreatedAt, want.UpdatedAt = c.ID, stored(at(0)), stored(at(0))
	require.Equal(t, want, c)
	got, err := es.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, want, got)

	upd := engine.Contact{Phone: "+15125550111", FirstName: "Augusta", State: "OK"}
	u, err := es.UpsertContact(ctx(t), upd, at(5))
	require.NoError(t, err)
	require.Equal(t, c.ID, u.ID, "same phone, same contact")
	require.Equal(t, c.CreatedAt, u.CreatedAt)
	require.Equal(t, stored(at(5)), u.UpdatedAt)
	require.Equal(t, "Augusta", u.FirstName)
	require.Equal(t, "ana", u.Owner, "an empty owner keeps the stored one")
	require.Empty(t, u.LastName)
	require.Nil(t, u.Fields)

	other, err := es.UpsertContact(ctx(t), engine.Contact{Phone: "+15125550112"}, at(6))
	require.NoError(t, err)
	require.NotEqual(t, c.ID, other.ID)

	_, err = es.UpsertContact(ctx(t), engine.Contact{FirstName: "no phone"}, at(7))
	requireField(t, err, "phone")
}

func testContactNotFound(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	for _, id := range []string{missingID, "not-a-uuid"} {
		_, err := es.GetContact(ctx(t), id)
		require.ErrorIs(t, err, engine.ErrNotFound)
	}
}

func testEnrollmentPinsVersion(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "v1", engine.StatusActive, at(0))
	_, err := s.UpdateCadence(ctx(t), c.ID, Definition("v2"), 0, at(1))
	require.NoError(t, err)
	ct, err := es.UpsertContact(ctx(t), engine.Contact{Phone: "+15125550113"}, at(0))
	require.NoError(t, err)
	ct2, err := es.UpsertContact(ctx(t), engine.Contact{Phone: "+15125550114"}, at(0))
	require.NoError(t, err)

	e, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, ContactID: ct.ID}, at(2))
	require.NoError(t, err)
	require.NotEmpty(t, e.ID)
	require.Equal(t, 2, e.CadenceVersion, "0 pins the current version")
	require.Equal(t, engine.EnrollmentActive, e.Status)
	require.Equal(t, stored(at(2)), e.CreatedAt)
	require.Nil(t, e.StoppedAt)
	got, err := es.GetEnrollment(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, e, got)

	old, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, CadenceVersion: 1, ContactID: ct2.ID}, at(3))
	require.NoError(t, err)
	require.Equal(t, 1, old.CadenceVersion)

	_, err = s.UpdateCadence(ctx(t), c.ID, Definition("v3"), 0, at(4))
	require.NoError(t, err)
	got, err = es.GetEnrollment(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, 2, got.CadenceVersion, "a later save does not move the pin")
}

func testEnrollmentUnknownRefs(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	ct, err := es.UpsertContact(ctx(t), engine.Contact{Phone: "+15125550115"}, at(0))
	require.NoError(t, err)
	for name, e := range map[string]engine.Enrollment{
		"cadence":       {CadenceID: missingID, ContactID: ct.ID},
		"bad cadence":   {CadenceID: "not-a-uuid", ContactID: ct.ID},
		"contact":       {CadenceID: c.ID, ContactID: missingID},
		"bad contact":   {CadenceID: c.ID, ContactID: "not-a-uuid"},
		"version":       {CadenceID: c.ID, ContactID: ct.ID, CadenceVersion: 2},
		"minus version": {CadenceID: c.ID, ContactID: ct.ID, CadenceVersion: -1},
	} {
		_, err := es.CreateEnrollment(ctx(t), e, at(1))
		require.ErrorIs(t, err, engine.ErrNotFound, name)
	}
	n, err := s.ActiveEnrollments(ctx(t), c.ID)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = es.GetEnrollment(ctx(t), missingID)
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testEnrollmentOneActive(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e := enrolled(t, s, c, "+15125550116")
	_, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, ContactID: e.ContactID}, at(2))
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = es.StopEnrollment(ctx(t), e.ID, "done", at(3))
	require.NoError(t, err)
	again, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, ContactID: e.ContactID}, at(4))
	require.NoError(t, err, "re-enrollment after the first one finished")
	require.NotEqual(t, e.ID, again.ID)
}

func testEnrollmentStop(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e := enrolled(t, s, c, "+15125550117")
	pending := schedule(t, s, e, 1, 30)
	done := schedule(t, s, e, 1, 2)
	_, err := es.CompleteAction(ctx(t), done.ID, "busy", at(2))
	require.NoError(t, err)

	st, err := es.StopEnrollment(ctx(t), e.ID, "contact asked", at(3))
	require.NoError(t, err)
	require.Equal(t, engine.EnrollmentStopped, st.Status)
	require.Equal(t, "contact asked", st.StopReason)
	require.NotNil(t, st.StoppedAt)
	require.Equal(t, stored(at(3)), *st.StoppedAt)
	got, err := es.GetEnrollment(ctx(t), e.ID)
	require.NoError(t, err)
	require.Equal(t, st, got)

	a, err := es.GetAction(ctx(t), pending.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCancelled, a.State)
	a, err = es.GetAction(ctx(t), done.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActionCompleted, a.State)

	_, err = es.StopEnrollment(ctx(t), e.ID, "again", at(4))
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = es.StopEnrollment(ctx(t), missingID, "x", at(4))
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testActionScheduleComplete(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e := enrolled(t, s, c, "+15125550118")
	a, err := es.ScheduleAction(ctx(t), engine.ScheduledAction{EnrollmentID: e.ID, CadenceID: "ignored",
		Step: 2, Type: engine.StepSMS, DueAt: at(90), Attempt: 3}, at(1))
	require.NoError(t, err)
	require.NotEmpty(t, a.ID)
	require.Equal(t, c.ID, a.CadenceID, "the cadence comes from the enrollment")
	require.Equal(t, engine.ActionScheduled, a.State)
	require.Equal(t, 2, a.Step)
	require.Equal(t, engine.StepSMS, a.Type)
	require.Equal(t, 3, a.Attempt)
	require.Equal(t, stored(at(90)), a.DueAt)
	require.Equal(t, stored(at(1)), a.CreatedAt)
	require.Nil(t, a.CompletedAt)
	got, err := es.GetAction(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, a, got)

	done, err := es.CompleteAction(ctx(t), a.ID, "delivered", at(91))
	require.NoError(t, err)
	require.Equal(t, engine.ActionCompleted, done.State)
	require.Equal(t, "delivered", done.Disposition)
	require.NotNil(t, done.CompletedAt)
	require.Equal(t, stored(at(91)), *done.CompletedAt)
	got, err = es.GetAction(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, done, got)

	_, err = es.CompleteAction(ctx(t), a.ID, "again", at(92))
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = es.CompleteAction(ctx(t), missingID, "x", at(92))
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = es.GetAction(ctx(t), "not-a-uuid")
	require.ErrorIs(t, err, engine.ErrNotFound)

	_, err = es.ScheduleAction(ctx(t), engine.ScheduledAction{EnrollmentID: e.ID, Step: 1, Type: "fax", DueAt: at(1)}, at(1))
	requireField(t, err, "type")
	_, err = es.ScheduleAction(ctx(t), engine.ScheduledAction{EnrollmentID: e.ID, Step: 0, Type: engine.StepCall, DueAt: at(1)}, at(1))
	requireField(t, err, "step")
}

func testActionFinishedEnrollment(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e := enrolled(t, s, c, "+15125550119")
	_, err := es.StopEnrollment(ctx(t), e.ID, "stop", at(2))
	require.NoError(t, err)
	_, err = es.ScheduleAction(ctx(t), engine.ScheduledAction{EnrollmentID: e.ID, Step: 1, Type: engine.StepCall, DueAt: at(3)}, at(3))
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = es.ScheduleAction(ctx(t), engine.ScheduledAction{EnrollmentID: missingID, Step: 1, Type: engine.StepCall, DueAt: at(3)}, at(3))
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testActiveEnrollmentsCount(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	n, err := s.ActiveEnrollments(ctx(t), c.ID)
	require.NoError(t, err)
	require.Zero(t, n)
	e1 := enrolled(t, s, c, "+15125550120")
	enrolled(t, s, c, "+15125550121")
	enrolled(t, s, c, "+15125550122")
	_, err = es.StopEnrollment(ctx(t), e1.ID, "stop", at(2))
	require.NoError(t, err)
	n, err = s.ActiveEnrollments(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = s.ActiveEnrollments(ctx(t), missingID)
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testCadenceStatsEmpty(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	st, err := s.CadenceStats(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, engine.CadenceStats{}, st)
	_, err = s.CadenceStats(ctx(t), missingID)
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testCadenceStatsCounts(t *testing.T, s engine.Store) {
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	other := newCadence(t, s, "other", engine.StatusActive, at(0))
	ct, err := es.UpsertContact(ctx(t), engine.Contact{Phone: "+15125550123"}, at(0))
	require.NoError(t, err)
	var enrolls []engine.Enrollment
	for i, phone := range []string{"+15125550124", "+15125550125", "+15125550126"} {
		ct, err := es.UpsertContact(ctx(t), engine.Contact{Phone: phone}, at(0))
		require.NoError(t, err)
		e, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, ContactID: ct.ID}, at(10+i))
		require.NoError(t, err)
		enrolls = append(enrolls, e)
	}
	// Another cadence's activity does not count, however recent.
	eo, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: other.ID, ContactID: ct.ID}, at(500))
	require.NoError(t, err)
	ao := schedule(t, s, eo, 1, 500)
	_, err = es.CompleteAction(ctx(t), ao.ID, "human", at(501))
	require.NoError(t, err)

	a1 := schedule(t, s, enrolls[0], 1, 20)
	a2 := schedule(t, s, enrolls[1], 1, 21)
	schedule(t, s, enrolls[2], 1, 400) // still scheduled: not run
	a4 := schedule(t, s, enrolls[0], 2, 22)
	_, err = es.CompleteAction(ctx(t), a1.ID, "no_answer", at(30))
	require.NoError(t, err)
	_, err = es.CompleteAction(ctx(t), a2.ID, "voicemail", at(45))
	require.NoError(t, err)
	_, err = es.CompleteAction(ctx(t), a4.ID, "busy", at(40))
	require.NoError(t, err)
	_, err = es.StopEnrollment(ctx(t), enrolls[2].ID, "stop", at(50)) // cancels its action
	require.NoError(t, err)

	st, err := s.CadenceStats(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, 3, st.Invocations, "every enrollment, finished or not")
	require.Equal(t, 3, st.TasksRun, "completed actions only")
	require.NotNil(t, st.LastTriggered)
	require.Equal(t, stored(at(12)), *st.LastTriggered)
	require.NotNil(t, st.LastActionRan)
	require.Equal(t, stored(at(45)), *st.LastActionRan)
}
