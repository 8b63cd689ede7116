package engine

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func routingDef() Definition {
	h := Duration(time.Hour)
	return Definition{
		Name: "routing",
		Runs: Runs{Total: 2, RestartDelay: Duration(24 * time.Hour), After: AfterRuns{Action: AfterEnroll, Cadence: "nurture"}},
		Steps: []Step{
			{Name: "call 1", Type: StepCall, Timing: Timing{From: FromPrevious},
				Call: &CallStep{Retry: Retry{Attempts: 1, MinGap: Duration(30 * time.Minute)}},
				Routing: []Rule{
					{Disposition: "busy", Action: Action{Type: ActionRetry, After: 4 * h, MaxTimes: 2}},
					{Disposition: "human", When: []Condition{{Field: "state", Op: OpEq, Value: "FL"}}, Action: Action{Type: ActionGoto, Step: 3}},
					{Disposition: "invalid_number", Action: Action{Type: ActionStop}},
				}},
			{Name: "sms", Type: StepSMS, Timing: Timing{Delay: 2 * h, From: FromPrevious}, SMS: &SMSStep{Text: "hi"}},
			{Name: "call 2", Type: StepCall, Timing: Timing{Delay: 48 * h, From: FromEnrollment}, Call: &CallStep{},
				Default: &Action{Type: ActionStop}},
		},
		Routing: []Rule{
			{Disposition: "interested", Action: Action{Type: ActionComplete}},
			{Disposition: "not_interested", Action: Action{Type: ActionForward, Cadence: "later"}},
			{Disposition: "opt_out", Action: Action{Type: ActionDNC}},
		},
	}
}

// The routing table, one outcome at a time (a scenario test of the rules).
func TestRoute(t *testing.T) {
	t.Parallel()
	def := routingDef()
	enrolled := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	now := enrolled.Add(10 * time.Minute)
	at := func(step, attempt int) Position {
		return Position{Run: 1, Step: step, Attempt: attempt, RunStarted: enrolled, LastAttempt: now.Add(-time.Minute), RuleRetries: map[string]int{}}
	}
	fl := MapFields(map[string]string{"state": "FL"})
	for _, tc := range []struct {
		name        string
		pos         Position
		disposition string
		contact     Fields
		want        Decision
	}{
		{"busy retries in 4h", at(0, 1), "busy", nil, Decision{Kind: DecideSchedule, Run: 1, Step: 0, Attempt: 2, At: now.Add(4 * time.Hour), RuleKey: "step0.rule0"}},
		{"busy rule used up falls to default next", Position{Run: 1, Step: 0, Attempt: 3, RunStarted: enrolled, LastAttempt: now, RuleRetries: map[string]int{"step0.rule0": 2}}, "busy", nil,
			Decision{Kind: DecideSchedule, Run: 1, Step: 1, Attempt: 1, At: now.Add(2 * time.Hour)}},
		{"no answer uses the step retry with its min gap", Position{Run: 1, Step: 0, Attempt: 1, RunStarted: enrolled, LastAttempt: now.Add(-5 * time.Minute)}, "no_answer", nil,
			Decision{Kind: DecideSchedule, Run: 1, Step: 0, Attempt: 2, At: now.Add(25 * time.Minute)}},
		{"no answer after the step retries moves on", at(0, 2), "no_answer", nil, Decision{Kind: DecideSchedule, Run: 1, Step: 1, Attempt: 1, At: now.Add(2 * time.Hour)}},
		{"unknown routes like no answer", at(0, 1), "unknown", nil, Decision{Kind: DecideSchedule, Run: 1, Step: 0, Attempt: 2, At: now.Add(29 * time.Minute)}},
		{"human in FL goes to step 3, due 48h after enrollment", at(0, 1), "human", fl, Decision{Kind: DecideSchedule, Run: 1, Step: 2, Attempt: 1, At: enrolled.Add(48 * time.Hour)}},
		{"human elsewhere: next", at(0, 1), "human", MapFields(map[string]string{"state": "TX"}), Decision{Kind: DecideSchedule, Run: 1, Step: 1, Attempt: 1, At: now.Add(2 * time.Hour)}},
		{"invalid number stops", at(0, 1), "invalid_number", nil, Decision{Kind: DecideStop}},
		{"cadence-wide agent disposition completes", at(1, 1), "interested", nil, Decision{Kind: DecideComplete}},
		{"cadence-wide forward", at(0, 1), "not_interested", nil, Decision{Kind: DecideForward, Cadence: "later"}},
		{"opt-out is do-not-call", at(2, 1), "opt_out", nil, Decision{Kind: DecideDNC}},
		{"step default stop", at(2, 1), "no_answer", nil, Decision{Kind: DecideStop}},
		{"sms delivered: next step due from enrollment", at(1, 1), "sent", nil, Decision{Kind: DecideSchedule, Run: 1, Step: 2, Attempt: 1, At: enrolled.Add(48 * time.Hour)}},
		{"vanished step stops", at(7, 1), "busy", nil, Decision{Kind: DecideStop}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Route(def, tc.pos, tc.disposition, tc.contact, now)
			require.NotEmpty(t, got.Reason)
			got.Reason = ""
			require.Equal(t, tc.want, got)
		})
	}
}

// After the last step, runs restart after their delay, and the last run
// enrolls into the configured cadence.
func TestRouteRuns(t *testing.T) {
	t.Parallel()
	def := routingDef()
	def.Steps[2].Default = nil
	now := time.Date(2026, 3, 12, 15, 0, 0, 0, time.UTC)
	got := Route(def, Position{Run: 1, Step: 2, Attempt: 1, RunStarted: now.Add(-72 * time.Hour)}, "voicemail", nil, now)
	require.Equal(t, DecideSchedule, got.Kind)
	require.Equal(t, 2, got.Run)
	require.Equal(t, 0, got.Step)
	require.Equal(t, now.Add(24*time.Hour), got.At)
	require.Contains(t, got.Reason, "run 1 of 2 done")

	got = Route(def, Position{Run: 2, Step: 2, Attempt: 1}, "voicemail", nil, now)
	require.Equal(t, DecideFinished, got.Kind)
	require.Equal(t, "nurture", got.Cadence)
}

func TestConditionMatches(t *testing.T) {
	t.Parallel()
	f := MapFields(map[string]string{"state": "fl", "zip": "33101", "fields.score": "72", "owner": "ana"})
	for _, tc := range []struct {
		c    Condition
		want bool
	}{
		{Condition{Field: "state", Op: OpEq, Value: "FL"}, true},
		{Condition{Field: "state", Op: OpNe, Value: "FL"}, false},
		{Condition{Field: "state", Op: OpIn, Value: "TX, FL ,MD"}, true},
		{Condition{Field: "state", Op: OpIn, Value: "TX,MD"}, false},
		{Condition{Field: "zip", Op: OpContains, Value: "331"}, true},
		{Condition{Field: "fields.score", Op: OpGt, Value: "9"}, true /* numeric, not "72" < "9" */},
		{Condition{Field: "fields.score", Op: OpLt, Value: "100"}, true},
		{Condition{Field: "fields.missing", Op: OpExists}, false},
		{Condition{Field: "owner", Op: OpExists}, true},
		{Condition{Field: "fields.missing", Op: OpNe, Value: "x"}, true},
		{Condition{Field: "fields.missing", Op: OpGt, Value: "1"}, false},
		{Condition{Field: "owner", Op: "bogus", Value: "x"}, false},
	} {
		require.Equal(t, tc.want, tc.c.Matches(f), "%+v", tc.c)
	}
}

// Every outcome of the shipped five-step example routes somewhere sensible.
func TestFiveStepRoutes(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../configs/cadences/five-step.json")
	require.NoError(t, err)
	def, errs := ImportDocument(data)
	require.Empty(t, errs)
	now := time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)
	for step := range def.Steps {
		for _, d := range []string{"human", "voicemail", "machine", "no_answer", "busy", "invalid_number", "rejected", "failed", "abandoned", "unknown"} {
			got := Route(def, Position{Run: 1, Step: step, Attempt: 1, RunStarted: now.Add(-time.Hour), LastAttempt: now}, d, nil, now)
			require.NotEmpty(t, got.Kind, "step %d %s", step+1, d)
			if got.Kind == DecideSchedule {
				require.False(t, got.At.Before(now), "step %d %s schedules in the past", step+1, d)
			}
		}
	}
}
