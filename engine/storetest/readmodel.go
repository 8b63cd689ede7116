package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// ReadModelStore is a store with the scheduler and the operators' read model.
type ReadModelStore interface {
	engine.ScheduleStore
	engine.ReadStore
}

// NewReadModelStore returns a fresh, migrated, empty store.
type NewReadModelStore func(t *testing.T) ReadModelStore

// RunReadModel runs the conformance cases of engine.ReadStore: action,
// enrollment and do-not-call listings with their filters and pages, and
// analytics counted from attempts the real engine produced.
func RunReadModel(t *testing.T, newStore NewReadModelStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ReadModelStore)
	}{
		{"ActionColumns", testActionColumns},
		{"ActionPages", testActionPages},
		{"ActionFilterErrors", testActionFilterErrors},
		{"EnrollmentList", testEnrollmentList},
		{"DNCList", testDNCList},
		{"Analytics", testAnalytics},
		{"Abandonment", testAbandonment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// readPages reads every page of a list with the given page size.
func readPages[T any](t *testing.T, limit int, list func(p engine.Page) ([]T, string, error)) [][]T {
	t.Helper()
	var pages [][]T
	p := engine.Page{Limit: limit}
	for range 100 {
		items, next, err := list(p)
		require.NoError(t, err)
		pages = append(pages, items)
		if next == "" {
			return pages
		}
		p.After = next
	}
	t.Fatal("the list never ended")
	return nil
}

// The inflight and completed rows carry seed 001's columns, with the step's
// retry settings read from the version the enrollment is pinned to.
func testActionColumns(t *testing.T, s ReadModelStore) {
	cad, c, e := schedEnrolled(t, s, "+12125550140")
	// A new version changes the retry settings; the enrollment stays on v1.
	def := Definition("sched +12125550140 v2")
	def.Steps[0].Call.Retry = engine.Retry{Attempts: 5, MinGap: engine.Duration(time.Hour)}
	_, err := s.UpdateCadence(ctx(t), cad.ID, def, 0, at(1))
	require.NoError(t, err)

	first := schedAction(t, s, e, 1, 10)
	second, err := s.InsertAction(ctx(t), engine.NewAction{EnrollmentID: e.ID, Step: 2, Type: engine.StepSMS, Attempt: 1, DueAt: at(30),
		Plan: engine.Plan{Run: 1, RunStarted: at(0)}}, nil, at(2))
	require.NoError(t, err)
	claimed := schedClaim(t, s, "node-a", 10, 1, schedRunAll)
	require.Len(t, claimed, 1)
	require.Equal(t, first.ID, claimed[0].Action.ID)

	rows, next, err := s.ListActions(ctx(t), engine.ActionFilter{States: engine.InflightStates})
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, rows, 2)
	r := rows[0]
	require.Equal(t, first.ID, r.ID)
	require.Equal(t, e.ID, r.EnrollmentID)
	require.Equal(t, c.ID, r.ContactID)
	require.Equal(t, cad.ID, r.CadenceID)
	require.Equal(t, 1, r.CadenceVersion)
	require.Equal(t, "sched +12125550140 v2", r.CadenceName, "the name is the cadence's current one")
	require.Equal(t, stored(at(0)), r.CadenceCreatedAt)
	require.Equal(t, "+12125550140", r.Phone)
	require.Equal(t, 1, r.Step)
	require.Equal(t, "Call Step 1", r.StepName)
	require.Equal(t, engine.StepCall, r.Type)
	require.Equal(t, engine.ActionProcessing, r.State)
	require.Equal(t, stored(at(0)), r.CreatedAt)
	require.Equal(t, stored(at(10)), r.DueAt)
	require.Equal(t, 1, r.Attempt)
	require.Equal(t, 0, r.RetryCount)
	require.Equal(t, 2, r.MaxRetries, "retry settings of the pinned version 1")
	require.Equal(t, engine.Duration(4*time.Hour), r.RetryMinGap)
	require.Nil(t, r.CompletedAt)
	r = rows[1]
	require.Equal(t, second.ID, r.ID)
	require.Equal(t, engine.ActionScheduled, r.State)
	require.Equal(t, "SMS Step 2", r.StepName)
	require.Equal(t, engine.StepSMS, r.Type)
	require.Zero(t, r.MaxRetries)

	none, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: engine.CompletedStates})
	require.NoError(t, err)
	require.Empty(t, none)

	require.NoError(t, s.Complete(ctx(t), engine.Completion{ActionID: first.ID, Fence: claimed[0].Fence, Disposition: "busy",
		Placed: true, Now: at(12), Tail: engine.Tail{Next: &engine.NewAction{EnrollmentID: e.ID, Step: 1, Type: engine.StepCall,
			Attempt: 2, DueAt: at(40), Plan: engine.Plan{Run: 1, RunStarted: at(0)}}}}))
	done, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: engine.CompletedStates})
	require.NoError(t, err)
	require.Len(t, done, 1)
	require.Equal(t, first.ID, done[0].ID)
	require.Equal(t, engine.ActionCompleted, done[0].State)
	require.NotNil(t, done[0].CompletedAt)
	require.Equal(t, stored(at(12)), *done[0].CompletedAt)
	require.Equal(t, "busy", done[0].Disposition)

	inflight, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: engine.InflightStates})
	require.NoError(t, err)
	require.Len(t, inflight, 2)
	require.Equal(t, second.ID, inflight[0].ID)
	retry := inflight[1]
	require.Equal(t, 2, retry.Attempt)
	require.Equal(t, 1, retry.RetryCount)
	require.Equal(t, engine.ActionScheduled, retry.State)

	// Stopping the enrollment cancels the scheduled rows: gone from the
	// inflight view, listed under their own state.
	_, err = s.StopEnrollment(ctx(t), e.ID, "operator", at(50))
	require.NoError(t, err)
	inflight, _, err = s.ListActions(ctx(t), engine.ActionFilter{States: engine.InflightStates})
	require.NoError(t, err)
	require.Empty(t, inflight)
	cancelled, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: []engine.ActionState{engine.ActionCancelled}})
	require.NoError(t, err)
	require.Len(t, cancelled, 2)
	all, _, err := s.ListActions(ctx(t), engine.ActionFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3, "no state filter lists every state")
}

// Pages cover every row once, in creation order, and the cadence filter
// keeps one cadence's rows.
func testActionPages(t *testing.T, s ReadModelStore) {
	_, _, e1 := schedEnrolled(t, s, "+12125550141")
	cad2, _, e2 := schedEnrolled(t, s, "+12125550142")
	var want2 []string
	for i := range 5 {
		_, err := s.InsertAction(ctx(t), engine.NewAction{EnrollmentID: e1.ID, Step: 1, Type: engine.StepCall, Attempt: 1,
			DueAt: at(100 + i%2*10), Plan: engine.Plan{Run: 1, RunStarted: at(0)}}, nil, at(10+2*i))
		require.NoError(t, err)
		b, err := s.InsertAction(ctx(t), engine.NewAction{EnrollmentID: e2.ID, Step: 1, Type: engine.StepCall, Attempt: 1,
			DueAt: at(100 + i%2*10), Plan: engine.Plan{Run: 1, RunStarted: at(0)}}, nil, at(11+2*i))
		require.NoError(t, err)
		want2 = append(want2, b.ID)
	}
	// Some rows move to processing, so the inflight view interleaves two
	// states: pages still follow creation order across both.
	require.Len(t, schedClaim(t, s, "node-a", 105, 10, schedRunAll), 6)
	pages := readPages(t, 3, func(p engine.Page) ([]engine.ActionRow, string, error) {
		return s.ListActions(ctx(t), engine.ActionFilter{States: engine.InflightStates, Page: p})
	})
	require.Len(t, pages, 4)
	var seen []time.Time
	ids, processing := map[string]bool{}, 0
	for i, pg := range pages {
		if i < 3 {
			require.Len(t, pg, 3)
		}
		for _, r := range pg {
			require.False(t, ids[r.ID], "row %s listed twice", r.ID)
			ids[r.ID] = true
			seen = append(seen, r.CreatedAt)
			if r.State == engine.ActionProcessing {
				processing++
			}
		}
	}
	require.Len(t, ids, 10)
	require.Equal(t, 6, processing)
	for i := 1; i < len(seen); i++ {
		require.True(t, seen[i].After(seen[i-1]), "creation order")
	}

	pages = readPages(t, 2, func(p engine.Page) ([]engine.ActionRow, string, error) {
		return s.ListActions(ctx(t), engine.ActionFilter{CadenceID: cad2.ID, Page: p})
	})
	var got2 []string
	for _, pg := range pages {
		for _, r := range pg {
			require.Equal(t, cad2.ID, r.CadenceID)
			got2 = append(got2, r.ID)
		}
	}
	require.Equal(t, want2, got2)

	none, next, err := s.ListActions(ctx(t), engine.ActionFilter{CadenceID: missingID})
	require.NoError(t, err)
	require.Empty(t, none)
	require.Empty(t, next)
}

func testActionFilterErrors(t *testing.T, s ReadModelStore) {
	_, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: []engine.ActionState{"scheduled", "flying"}})
	requireField(t, err, "states[1]")
	_, _, err = s.ListActions(ctx(t), engine.ActionFilter{Page: engine.Page{After: "not a cursor"}})
	requireField(t, err, "after")
	_, _, err = s.ListEnrollments(ctx(t), engine.EnrollmentFilter{Status: "paused"})
	requireField(t, err, "status")
	_, _, err = s.ListEnrollments(ctx(t), engine.EnrollmentFilter{Page: engine.Page{After: "%%%"}})
	requireField(t, err, "after")
	_, _, err = s.ListDNC(ctx(t), engine.Page{After: "bm90IGEgY3Vyc29y"})
	requireField(t, err, "after")
	_, err = s.Analytics(ctx(t), engine.AnalyticsFilter{Status: "paused"}, engine.DefaultCatalog())
	requireField(t, err, "status")
	_, err = s.Analytics(ctx(t), engine.AnalyticsFilter{CadenceID: missingID}, engine.DefaultCatalog())
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.Analytics(ctx(t), engine.AnalyticsFilter{CadenceID: "not-an-id"}, engine.DefaultCatalog())
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testEnrollmentList(t *testing.T, s ReadModelStore) {
	cad, c1, e1 := schedEnrolled(t, s, "+12125550143")
	c2, err := s.UpsertContact(ctx(t), engine.Contact{Phone: "+12125550144"}, at(1))
	require.NoError(t, err)
	e2, err := s.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: cad.ID, ContactID: c2.ID}, at(2))
	require.NoError(t, err)
	_, _, other := schedEnrolled(t, s, "+12125550145")
	_, err = s.StopEnrollment(ctx(t), e2.ID, "operator", at(3))
	require.NoError(t, err)

	rows, next, err := s.ListEnrollments(ctx(t), engine.EnrollmentFilter{CadenceID: cad.ID})
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, rows, 2)
	require.Equal(t, e1.ID, rows[0].ID)
	require.Equal(t, c1.Phone, rows[0].Phone)
	require.Equal(t, engine.EnrollmentActive, rows[0].Status)
	require.Equal(t, 1, rows[0].CadenceVersion)
	require.Equal(t, e2.ID, rows[1].ID)
	require.Equal(t, "+12125550144", rows[1].Phone)
	require.Equal(t, engine.EnrollmentStopped, rows[1].Status)
	require.Equal(t, "operator", rows[1].StopReason)
	require.NotNil(t, rows[1].StoppedAt)
	require.Equal(t, stored(at(3)), *rows[1].StoppedAt)

	active, _, err := s.ListEnrollments(ctx(t), engine.EnrollmentFilter{Status: engine.EnrollmentActive})
	require.NoError(t, err)
	require.Len(t, active, 2)
	require.Equal(t, e1.ID, active[0].ID)
	require.Equal(t, other.ID, active[1].ID)

	pages := readPages(t, 1, func(p engine.Page) ([]engine.EnrollmentRow, string, error) {
		return s.ListEnrollments(ctx(t), engine.EnrollmentFilter{Page: p})
	})
	require.Len(t, pages, 3)
	none, _, err := s.ListEnrollments(ctx(t), engine.EnrollmentFilter{CadenceID: "not-an-id"})
	require.NoError(t, err)
	require.Empty(t, none)
}

func testDNCList(t *testing.T, s ReadModelStore) {
	empty, next, err := s.ListDNC(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Empty(t, empty)
	require.Empty(t, next)
	phones := []string{"+12125550152", "+12125550151", "+12125550150"}
	for i, p := range phones {
		_, err := s.AddDNC(ctx(t), p, "asked", at(i))
		require.NoError(t, err)
	}
	// Two entries at the same instant are ordered by phone.
	_, err = s.AddDNC(ctx(t), "+12125550149", "", at(2))
	require.NoError(t, err)
	pages := readPages(t, 3, func(p engine.Page) ([]engine.DNCEntry, string, error) { return s.ListDNC(ctx(t), p) })
	require.Len(t, pages, 2)
	var got []string
	for _, pg := range pages {
		for _, d := range pg {
			got = append(got, d.Phone)
		}
	}
	require.Equal(t, []string{"+12125550152", "+12125550151", "+12125550149", "+12125550150"}, got)
	require.Equal(t, "asked", pages[0][0].Reason)
	require.Equal(t, stored(at(0)), pages[0][0].CreatedAt)
	require.NoError(t, s.RemoveDNC(ctx(t), "+12125550151"))
	all, _, err := s.ListDNC(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Len(t, all, 3)
}

// analyticsDef is an agentless cadence that calls at any lawful time.
func analyticsDef(name string, steps ...engine.Step) engine.Definition {
	return engine.Definition{Name: name, TimeZone: "America/New_York", Runs: engine.Runs{Total: 1},
		Harassment: engine.Harassment{UseBusiness: true}, Steps: steps}
}

func callStep(name string, retries int, rules ...engine.Rule) engine.Step {
	return engine.Step{Name: name, Type: engine.StepCall, Timing: engine.Timing{From: engine.FromPrevious},
		Call:    &engine.CallStep{Retry: engine.Retry{Attempts: retries, MinGap: engine.Duration(time.Hour)}},
		Routing: rules}
}

// testAnalytics plays real outcomes through the engine on a simulated
// clock and checks every number against a hand count.
//
//	cadence A (active, 2 steps; step 1 retries twice, human completes):
//	  P1 no_answer, no_answer, human (+ agent "converted")  3 attempts, contact at 3, 1 conversion
//	  P2 busy ×3 on step 1, busy on step 2                   4 attempts, no contact
//	  P3 voicemail on step 1, human on step 2 (+ agent "not_interested")
//	                                                        2 attempts, contact at 2
//	cadence B (active, 1 step, no retries):
//	  P4 human (+ agent "wrong_number": not a contact)      1 attempt
//	  P5 failed (never placed: no attempt)                  0 attempts
//	  P6 human                                              1 attempt, contact at 1
//	cadence C (draft, 3 steps): no activity
//
// Overall: 11 attempts, 3 contacts, 1 conversion; attempts before contact
// (3+2+1)/3 = 2; average steps of active cadences (2+1)/2 = 1.5.
func testAnalytics(t *testing.T, s ReadModelStore) {
	clock := engine.NewSimClock(time.Date(2026, 3, 3, 15, 0, 0, 0, time.UTC)) // Tuesday 10:00 in New York
	script, err := engine.ParseOutcomeScript("+12125550161=no_answer,no_answer,human;+12125550162=busy;" +
		"+12125550163=voicemail,human;+12125550164=human;+12125550165=failed;+12125550166=human")
	require.NoError(t, err)
	eng, err := engine.New(engine.Options{Store: s, Now: clock.Now, Dialer: engine.NewScriptedDialer(script, clock.Now),
		Messenger: &engine.AcceptingMessenger{}})
	require.NoError(t, err)

	complete := engine.Rule{Disposition: engine.DispositionHuman, Action: engine.Action{Type: engine.ActionComplete}}
	cadA, err := s.CreateCadence(ctx(t), analyticsDef("A", callStep("Dial 1", 2, complete), callStep("Dial 2", 0)), engine.StatusActive, clock.Now())
	require.NoError(t, err)
	cadB, err := s.CreateCadence(ctx(t), analyticsDef("B", callStep("Only", 0)), engine.StatusActive, clock.Now().Add(time.Second))
	require.NoError(t, err)
	_, err = s.CreateCadence(ctx(t), analyticsDef("C", callStep("x", 0), callStep("y", 0), callStep("z", 0)), engine.StatusDraft, clock.Now().Add(2*time.Second))
	require.NoError(t, err)

	enroll := func(cad, phone string) {
		_, err := eng.Enroll(ctx(t), engine.EnrollRequest{CadenceID: cad, Contact: &engine.Contact{Phone: phone, TimeZone: "America/New_York"}})
		require.NoError(t, err)
	}
	for _, p := range []string{"+12125550161", "+12125550162", "+12125550163"} {
		enroll(cadA.ID, p)
	}
	for _, p := range []string{"+12125550164", "+12125550165", "+12125550166"} {
		enroll(cadB.ID, p)
	}
	inflight, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: engine.InflightStates, CadenceID: cadA.ID})
	require.NoError(t, err)
	require.Len(t, inflight, 3)
	require.Equal(t, 2, inflight[0].MaxRetries)
	require.Equal(t, engine.Duration(time.Hour), inflight[0].RetryMinGap)

	for range 50 {
		due, ok, err := s.NextDue(ctx(t))
		require.NoError(t, err)
		if !ok {
			break
		}
		clock.Set(due)
		_, err = eng.RunDue(ctx(t))
		require.NoError(t, err)
	}
	_, ok, err := s.NextDue(ctx(t))
	require.NoError(t, err)
	require.False(t, ok, "every enrollment has finished")

	// Agents post their dispositions on the human answers.
	done, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: engine.CompletedStates, Page: engine.Page{Limit: 500}})
	require.NoError(t, err)
	require.Len(t, done, 12, "11 placed attempts and P5's failed call")
	post := map[string]string{"+12125550161": "converted", "+12125550163": "not_interested", "+12125550164": "wrong_number"}
	for _, r := range done {
		require.Equal(t, r.Attempt-1, r.RetryCount)
		if code, ok := post[r.Phone]; ok && r.Disposition == engine.DispositionHuman {
			require.NoError(t, eng.PostDisposition(ctx(t), r.ID, code, clock.Now()))
			delete(post, r.Phone)
		}
	}
	require.Empty(t, post)
	p2, _, err := s.ListActions(ctx(t), engine.ActionFilter{States: engine.CompletedStates, CadenceID: cadA.ID, Page: engine.Page{Limit: 500}})
	require.NoError(t, err)
	var p2Retries []int
	for _, r := range p2 {
		if r.Phone == "+12125550162" {
			p2Retries = append(p2Retries, r.RetryCount)
		}
	}
	require.Equal(t, []int{0, 1, 2, 0}, p2Retries, "P2: three tries of step 1, then step 2")

	cat := engine.DefaultCatalog()
	all, err := s.Analytics(ctx(t), engine.AnalyticsFilter{}, cat)
	require.NoError(t, err)
	require.Equal(t, 3, all.TotalCadences)
	require.InDelta(t, 1.5, all.AverageSteps, 1e-9)
	require.Equal(t, 11, all.Attempts)
	require.Equal(t, 3, all.Contacts)
	require.Equal(t, 1, all.Conversions)
	require.InDelta(t, 3.0/11, all.ContactRate, 1e-9)
	require.InDelta(t, 1.0/3, all.ConversionRate, 1e-9)
	require.InDelta(t, 2.0, all.AverageAttemptsBeforeContact, 1e-9)
	require.Equal(t, 3, all.ContactedEnrollments)
	require.Empty(t, all.PerStep, "steps are per cadence")
	require.Len(t, all.PerCadence, 3)
	a, b, c := all.PerCadence[0], all.PerCadence[1], all.PerCadence[2]
	require.Equal(t, cadA.ID, a.CadenceID)
	require.Equal(t, engine.Rates{Attempts: 9, Contacts: 2, Conversions: 1, ContactRate: 2.0 / 9, ConversionRate: 0.5}, a.Rates)
	require.InDelta(t, 2.5, a.AverageAttemptsBeforeContact, 1e-9)
	require.Equal(t, 2, a.Steps)
	require.Equal(t, cadB.ID, b.CadenceID)
	require.Equal(t, engine.Rates{Attempts: 2, Contacts: 1, ContactRate: 0.5}, b.Rates)
	require.InDelta(t, 1.0, b.AverageAttemptsBeforeContact, 1e-9)
	require.Equal(t, "C", c.Name)
	require.Equal(t, engine.StatusDraft, c.Status)
	require.Zero(t, c.Attempts)

	active, err := s.Analytics(ctx(t), engine.AnalyticsFilter{Status: engine.StatusActive}, cat)
	require.NoError(t, err)
	require.Equal(t, 2, active.TotalCadences)
	require.InDelta(t, 1.5, active.AverageSteps, 1e-9)
	require.Equal(t, all.Rates, active.Rates)

	draft, err := s.Analytics(ctx(t), engine.AnalyticsFilter{Status: engine.StatusDraft}, cat)
	require.NoError(t, err)
	require.Equal(t, 1, draft.TotalCadences)
	require.InDelta(t, 3.0, draft.AverageSteps, 1e-9, "with a status filter, the filtered cadences' steps")
	require.Zero(t, draft.Attempts)
	require.Zero(t, draft.ContactRate)

	one, err := s.Analytics(ctx(t), engine.AnalyticsFilter{CadenceID: cadA.ID}, cat)
	require.NoError(t, err)
	require.Equal(t, 1, one.TotalCadences)
	require.Equal(t, a.Rates, one.Rates)
	require.InDelta(t, 2.5, one.AverageAttemptsBeforeContact, 1e-9)
	require.Equal(t, []engine.StepAnalytics{
		{Step: 1, Name: "Dial 1", Rates: engine.Rates{Attempts: 7, Contacts: 1, Conversions: 1, ContactRate: 1.0 / 7, ConversionRate: 1}},
		{Step: 2, Name: "Dial 2", Rates: engine.Rates{Attempts: 2, Contacts: 1, ContactRate: 0.5}},
	}, one.PerStep)

	// Another catalog changes the counts: "wrong_number" as a contact.
	custom := []engine.AgentDisposition{{Code: "wrong_number", Contact: true}}
	mod, err := s.Analytics(ctx(t), engine.AnalyticsFilter{CadenceID: cadB.ID}, custom)
	require.NoError(t, err)
	require.Equal(t, 2, mod.Contacts)
	// A cadence filtered out by status counts nothing, and is no error.
	filtered, err := s.Analytics(ctx(t), engine.AnalyticsFilter{CadenceID: cadB.ID, Status: engine.StatusDraft}, cat)
	require.NoError(t, err)
	require.Zero(t, filtered.TotalCadences)

	// A deleted cadence leaves the numbers.
	require.NoError(t, s.DeleteCadence(ctx(t), cadB.ID, true, clock.Now()))
	after, err := s.Analytics(ctx(t), engine.AnalyticsFilter{}, cat)
	require.NoError(t, err)
	require.Equal(t, 2, after.TotalCadences)
	require.Equal(t, 9, after.Attempts)
	_, err = s.Analytics(ctx(t), engine.AnalyticsFilter{CadenceID: cadB.ID}, cat)
	require.True(t, errors.Is(err, engine.ErrNotFound), "%v", err)
}
