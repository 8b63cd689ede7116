package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// abandonNow is the analytics' Now in the abandonment cases: on the hour,
// so the buckets below are easy to read.
var abandonNow = time.Date(2026, time.April, 10, 12, 0, 0, 0, time.UTC)

// AbandonCounts is one cadence's abandonment numbers as analytics report
// them, keyed by cadence name so that two stores' results compare.
type AbandonCounts struct {
	Live, Abandoned int
	Rate            float64
}

// AbandonHour is one bucket of AbandonmentHistory, by cadence name.
type AbandonHour struct {
	Cadence         string
	Hour            time.Time
	Live, Abandoned int
}

// AbandonSummary is what the abandonment scenario reads back from a store.
type AbandonSummary struct {
	// All, Active and One are Analytics at abandonNow without a filter,
	// with the active filter, and for cadence D alone.
	All, Active, One AbandonCounts
	// PerCadence is the unfiltered per-cadence figures by name.
	PerCadence map[string]AbandonCounts
	// Window is AbandonmentHistory since abandonNow − 30 days; Longer since
	// a minute before abandonNow − 31 days. Both sorted by name and hour.
	Window, Longer []AbandonHour
}

// abandonCall places one call of e's cadence, claimed a minute before done
// and completed at done with the given system disposition.
func abandonCall(t *testing.T, s ReadModelStore, e engine.Enrollment, typ engine.StepType, done time.Time, disposition string, placed bool) {
	t.Helper()
	claimAt := done.Add(-time.Minute)
	a, err := s.InsertAction(ctx(t), engine.NewAction{EnrollmentID: e.ID, Step: 1, Type: typ, Attempt: 1, DueAt: claimAt,
		Plan: engine.Plan{Run: 1, RunStarted: claimAt}}, nil, claimAt)
	require.NoError(t, err)
	cs, err := s.Claim(ctx(t), engine.ClaimRequest{Owner: "abandon", Now: claimAt, Limit: 1, Lease: 10 * time.Minute,
		HistorySince: claimAt.Add(-time.Hour)}, schedRunAll)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, a.ID, cs[0].Action.ID)
	require.NoError(t, s.Complete(ctx(t), engine.Completion{ActionID: a.ID, Fence: cs[0].Fence, Disposition: disposition,
		Placed: placed, Now: done}))
}

// PlayAbandonment plays the abandonment scenario into an empty store and
// reads the numbers back (N is abandonNow, Friday 10 April 2026 12:00 UTC):
//
//	A (active): 09:05 human, 09:20 abandoned, 09:59:59 human, 10:30 abandoned,
//	    N−30d+1s human (claimed before the window: completion decides) → in;
//	    10:40 machine, 10:45 no_answer (not live), 10:50 an abandoned call
//	    never placed, 10:55 an SMS "human", N−31d human and abandoned, at
//	    exactly N−30d abandoned, N+1h abandoned → out.
//	B (active): N−2d 14:10 human, 14:50 abandoned.
//	D (draft): 11:05 abandoned.
//	E (active, deleted at the end): 11:10 abandoned.
//	F (active): 11:15 machine only.
func PlayAbandonment(t *testing.T, s ReadModelStore) AbandonSummary {
	t.Helper()
	n := abandonNow
	enroll := func(name, phone string, status engine.Status) engine.Enrollment {
		cad, err := s.CreateCadence(ctx(t), analyticsDef(name, callStep("Dial", 0)), status, n.Add(-40*24*time.Hour))
		require.NoError(t, err)
		c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: phone, TimeZone: "America/New_York"}, n.Add(-40*24*time.Hour))
		require.NoError(t, err)
		e, err := s.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: cad.ID, ContactID: c.ID}, n.Add(-40*24*time.Hour))
		require.NoError(t, err)
		return e
	}
	a := enroll("A", "+12125550171", engine.StatusActive)
	b := enroll("B", "+12125550172", engine.StatusActive)
	d := enroll("D", "+12125550174", engine.StatusDraft)
	e := enroll("E", "+12125550175", engine.StatusActive)
	f := enroll("F", "+12125550176", engine.StatusActive)
	hm := func(h, m, sec int) time.Time { return time.Date(2026, time.April, 10, h, m, sec, 0, time.UTC) }
	day := 24 * time.Hour
	type call struct {
		e      engine.Enrollment
		typ    engine.StepType
		done   time.Time
		disp   string
		placed bool
	}
	calls := []call{
		{a, engine.StepCall, hm(9, 5, 0), engine.DispositionHuman, true},
		{a, engine.StepCall, hm(9, 20, 0), engine.DispositionAbandoned, true},
		{a, engine.StepCall, hm(9, 59, 59), engine.DispositionHuman, true},
		{a, engine.StepCall, hm(10, 30, 0), engine.DispositionAbandoned, true},
		{a, engine.StepCall, n.Add(-30*day + time.Second), engine.DispositionHuman, true},
		{a, engine.StepCall, hm(10, 40, 0), engine.DispositionMachine, true},
		{a, engine.StepCall, hm(10, 45, 0), engine.DispositionNoAnswer, true},
		{a, engine.StepCall, hm(10, 50, 0), engine.DispositionAbandoned, false},
		{a, engine.StepSMS, hm(10, 55, 0), engine.DispositionHuman, true},
		{a, engine.StepCall, n.Add(-31 * day), engine.DispositionHuman, true},
		{a, engine.StepCall, n.Add(-31*day + time.Minute), engine.DispositionAbandoned, true},
		{a, engine.StepCall, n.Add(-30 * day), engine.DispositionAbandoned, true},
		{a, engine.StepCall, n.Add(time.Hour), engine.DispositionAbandoned, true},
		{b, engine.StepCall, time.Date(2026, time.April, 8, 14, 10, 0, 0, time.UTC), engine.DispositionHuman, true},
		{b, engine.StepCall, time.Date(2026, time.April, 8, 14, 50, 0, 0, time.UTC), engine.DispositionAbandoned, true},
		{d, engine.StepCall, hm(11, 5, 0), engine.DispositionAbandoned, true},
		{e, engine.StepCall, hm(11, 10, 0), engine.DispositionAbandoned, true},
		{f, engine.StepCall, hm(11, 15, 0), engine.DispositionMachine, true},
	}
	for _, c := range calls {
		abandonCall(t, s, c.e, c.typ, c.done, c.disp, c.placed)
	}
	require.NoError(t, s.DeleteCadence(ctx(t), e.CadenceID, true, n))
	names := map[string]string{a.CadenceID: "A", b.CadenceID: "B", d.CadenceID: "D", e.CadenceID: "E", f.CadenceID: "F"}

	counts := func(f engine.AnalyticsFilter) engine.Analytics {
		f.Now = n
		got, err := s.Analytics(ctx(t), f, engine.DefaultCatalog())
		require.NoError(t, err)
		return got
	}
	of := func(x engine.Abandonment) AbandonCounts {
		return AbandonCounts{Live: x.LiveAnswers, Abandoned: x.Abandoned, Rate: x.AbandonRate30d}
	}
	var sum AbandonSummary
	all := counts(engine.AnalyticsFilter{})
	sum.All, sum.PerCadence = of(all.Abandonment), map[string]AbandonCounts{}
	for _, c := range all.PerCadence {
		sum.PerCadence[names[c.CadenceID]] = of(c.Abandonment)
	}
	sum.Active = of(counts(engine.AnalyticsFilter{Status: engine.StatusActive}).Abandonment)
	sum.One = of(counts(engine.AnalyticsFilter{CadenceID: d.CadenceID}).Abandonment)

	history := func(since time.Time) []AbandonHour {
		got, err := s.AbandonmentHistory(ctx(t), since)
		require.NoError(t, err)
		require.True(t, slices.IsSortedFunc(got, func(x, y engine.AbandonBucket) int {
			if c := strings.Compare(x.CadenceID, y.CadenceID); c != 0 {
				return c
			}
			return x.Hour.Compare(y.Hour)
		}), "ordered by cadence and hour: %v", got)
		out := make([]AbandonHour, 0, len(got))
		for _, g := range got {
			require.Equal(t, time.UTC, g.Hour.Location())
			out = append(out, AbandonHour{Cadence: names[g.CadenceID], Hour: g.Hour, Live: g.Live, Abandoned: g.Abandoned})
		}
		sortHours(out)
		return out
	}
	sum.Window = history(n.Add(-30 * day))
	sum.Longer = history(n.Add(-31*day - time.Minute))
	return sum
}

func sortHours(hs []AbandonHour) {
	slices.SortFunc(hs, func(x, y AbandonHour) int {
		if c := strings.Compare(x.Cadence, y.Cadence); c != 0 {
			return c
		}
		return x.Hour.Compare(y.Hour)
	})
}

// testAbandonment checks the scenario's numbers against a hand count.
func testAbandonment(t *testing.T, s ReadModelStore) {
	got := PlayAbandonment(t, s)
	// A 5 live (2 abandoned), B 2 (1), D 1 (1), F none; E is deleted.
	require.Equal(t, map[string]AbandonCounts{
		"A": {Live: 5, Abandoned: 2, Rate: 0.4},
		"B": {Live: 2, Abandoned: 1, Rate: 0.5},
		"D": {Live: 1, Abandoned: 1, Rate: 1},
		"F": {},
	}, got.PerCadence)
	require.Equal(t, AbandonCounts{Live: 8, Abandoned: 4, Rate: 0.5}, got.All)
	require.Equal(t, AbandonCounts{Live: 7, Abandoned: 3, Rate: 3.0 / 7}, got.Active, "the draft cadence D filtered out")
	require.Equal(t, AbandonCounts{Live: 1, Abandoned: 1, Rate: 1}, got.One)

	hour := func(mo time.Month, d, h int) time.Time { return time.Date(2026, mo, d, h, 0, 0, 0, time.UTC) }
	window := []AbandonHour{
		// N−30d exactly (abandoned) and N−30d+1s (human): since is inclusive.
		{"A", hour(time.March, 11, 12), 2, 1},
		{"A", hour(time.April, 10, 9), 3, 1},
		{"A", hour(time.April, 10, 10), 1, 1},
		// History has no upper bound: the pacer's ledger takes what is there.
		{"A", hour(time.April, 10, 13), 1, 1},
		{"B", hour(time.April, 8, 14), 2, 1},
		{"D", hour(time.April, 10, 11), 1, 1},
	}
	require.Equal(t, window, got.Window)
	longer := append([]AbandonHour{{"A", hour(time.March, 10, 12), 2, 1}}, window...)
	require.Equal(t, longer, got.Longer)
}

// RequireAbandonmentAgrees plays the abandonment scenario into two empty
// stores of different drivers and requires the same numbers from both.
func RequireAbandonmentAgrees(t *testing.T, a, b ReadModelStore) {
	require.Equal(t, PlayAbandonment(t, a), PlayAbandonment(t, b))
}
