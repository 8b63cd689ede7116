// Package storetest is the conformance suite of engine.Store: every store
// driver (engine/postgres, engine/sqlite) runs Run from its own tests, so the
// drivers behave the same down to errors, ordering and time precision.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// NewStore returns a fresh, migrated, empty store for one test and closes it
// (and drops whatever it created) in t.Cleanup.
type NewStore func(t *testing.T) engine.Store

// test is one conformance case.
type test struct {
	name string
	fn   func(t *testing.T, s engine.Store)
}

// Run runs every conformance case as a parallel subtest, each on its own store.
func Run(t *testing.T, newStore NewStore) {
	var all []test
	all = append(all, cadenceTests()...)
	all = append(all, versionTests()...)
	all = append(all, deleteTests()...)
	all = append(all, libraryTests()...)
	all = append(all, authTests()...)
	all = append(all, enrollmentTests()...)
	all = append(all, concurrencyTests()...)
	all = append(all, miscTests()...)
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// at is the simulated time n minutes after the start of the suite's clock.
// Its nanoseconds check that stores keep microseconds: what they return is
// the time truncated, in UTC.
func at(n int) time.Time {
	return time.Date(2026, time.March, 2, 9, 30, 0, 123456789, time.UTC).Add(time.Duration(n) * time.Minute)
}

// stored is how a store returns t.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ctx returns the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }

// Definition returns a definition that touches every field of the model, so
// a round trip through a store proves nothing is lost.
func Definition(name string) engine.Definition {
	return engine.Definition{
		Name:        name,
		Description: "Speed to lead for web leads",
		TimeZone:    "America/Chicago",
		CadenceHours: []engine.Window{
			{Days: []string{engine.Mon, engine.Tue, engine.Wed, engine.Thu, engine.Fri}, Start: "08:00", End: "20:00"},
			{Days: []string{engine.Sat}, Start: "10:00", End: "14:00"},
		},
		TargetHours: []engine.Window{{Days: []string{engine.Mon, engine.Fri}, Start: "09:00", End: "24:00"}},
		Runs: engine.Runs{Total: 2, RestartDelay: engine.Duration(3 * 24 * time.Hour),
			After: engine.AfterRuns{Action: engine.AfterEnroll, Cadence: "0190f0a0-0000-7000-8000-000000000001"}},
		AllowReenrollment: true,
		Queue:             "sales",
		Owner:             engine.OwnerPolicy{Assign: engine.OwnerRoundRobin, UseExisting: true},
		Harassment: engine.Harassment{
			Calls: &engine.Limit{Max: 3, Period: engine.Duration(7 * 24 * time.Hour)},
			SMS:   &engine.Limit{Max: 1, Period: engine.Duration(24 * time.Hour)},
		},
		Steps: []engine.Step{
			{
				Name:   "Call Step 1",
				Type:   engine.StepCall,
				Timing: engine.Timing{Delay: 0, From: engine.FromEnrollment},
				Call: &engine.CallStep{
					Script:      "Hi {{contact.first_name}}, this is Ana from Acme.",
					CallerID:    engine.CallerID{Strategy: engine.CallerIDLocalPresence, Pool: "us-main"},
					Voicemail:   engine.Voicemail{Enabled: true, Asset: "vm-intro"},
					Retry:       engine.Retry{Attempts: 2, MinGap: engine.Duration(4 * time.Hour)},
					RingTimeout: engine.Duration(25 * time.Second),
					AMDProfile:  "voicemail_drop",
					OnHuman:     engine.OnHuman{Action: engine.HumanConnect, Destination: "queue:sales"},
				},
				Routing: []engine.Rule{
					{Disposition: "busy", Action: engine.Action{Type: engine.ActionRetry, After: engine.Duration(30 * time.Minute), MaxTimes: 2}},
					{Disposition: "interested", When: []engine.Condition{{Field: "state", Op: engine.OpIn, Value: "TX,OK"}},
						Action: engine.Action{Type: engine.ActionForward, Cadence: "0190f0a0-0000-7000-8000-000000000002"}},
				},
				Default: &engine.Action{Type: engine.ActionNext},
			},
			{
				Name:   "SMS Step 2",
				Type:   engine.StepSMS,
				Timing: engine.Timing{Delay: engine.Duration(90 * time.Minute), From: engine.FromPrevious},
				SMS: &engine.SMSStep{Template: "follow-up", Customize: true, Text: "Sorry we missed you, {{contact.first_name}}!",
					Variables: map[string]string{"agent": "Ana", "company": "Acme"}},
			},
		},
		Routing: []engine.Rule{{Disposition: "dnc", Action: engine.Action{Type: engine.ActionDNC}}},
	}
}

// newCadence creates a cadence and fails the test on error.
func newCadence(t *testing.T, s engine.Store, name string, status engine.Status, now time.Time) engine.Cadence {
	t.Helper()
	c, err := s.CreateCadence(ctx(t), Definition(name), status, now)
	require.NoError(t, err)
	return c
}

// enrollments returns the store's EnrollmentStore side; every driver has one.
func enrollments(t *testing.T, s engine.Store) engine.EnrollmentStore {
	t.Helper()
	es, ok := s.(engine.EnrollmentStore)
	require.True(t, ok, "%T does not implement engine.EnrollmentStore", s)
	return es
}

// missingID is a well-formed id that no store has.
const missingID = "0190f0a0-dead-7000-8000-00000000beef"

// requireField checks that err reports bad input at path as an
// engine.FieldErrors, which the API turns into a 422 naming the field.
func requireField(t *testing.T, err error, path string) {
	t.Helper()
	var fe engine.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Len(t, fe, 1)
	require.Equal(t, path, fe[0].Path)
}
