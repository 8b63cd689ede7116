package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine/compliance"
)

func testPlanner(t *testing.T) Planner {
	t.Helper()
	rules, err := compliance.DefaultRules()
	require.NoError(t, err)
	loc, err := compliance.DefaultLocator()
	require.NoError(t, err)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	return Planner{Rules: rules, Locator: loc, BusinessZone: ny,
		BusinessLimits: []compliance.Limit{{Max: 3, Period: 24 * time.Hour, Scope: compliance.ScopeCalls, Source: "business"}}}
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func TestPlannerPlace(t *testing.T) {
	t.Parallel()
	p := testPlanner(t)
	weekdays := []Window{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}}
	mornings := []Window{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "10:00", End: "12:00"}}
	for _, tc := range []struct {
		name     string
		def      Definition
		contact  Contact
		earliest string
		want     string // "" = stop
		code     string // block code, "" = none
	}{
		{"open now", Definition{}, Contact{Phone: "+12125550100", TimeZone: "America/New_York"}, "2026-03-09T10:00:00-04:00", "2026-03-09T10:00:00-04:00", ""},
		{"legal morning", Definition{}, Contact{Phone: "+12125550100", TimeZone: "America/New_York"}, "2026-03-09T07:00:00-04:00", "2026-03-09T08:00:00-04:00", "legal_window"},
		{"florida evening", Definition{}, Contact{Phone: "+13055550100", TimeZone: "America/New_York", State: "FL"}, "2026-03-09T20:30:00-04:00", "2026-03-10T08:00:00-04:00", "state_window"},
		{"cadence hours friday evening", Definition{CadenceHours: weekdays}, Contact{Phone: "+12125550100", TimeZone: "America/New_York"}, "2026-03-13T17:00:00-04:00", "2026-03-16T09:00:00-04:00", "cadence_hours"},
		{"target hours in LA", Definition{CadenceHours: weekdays, TargetHours: mornings}, Contact{Phone: "+13105550100", TimeZone: "America/Los_Angeles"}, "2026-03-09T09:00:00-04:00", "2026-03-09T10:00:00-07:00", "legal_window"},
		{"cadence zone of its own", Definition{TimeZone: "America/Los_Angeles", CadenceHours: weekdays}, Contact{Phone: "+12125550100", TimeZone: "America/New_York"}, "2026-03-09T09:00:00-04:00", "2026-03-09T12:00:00-04:00", "cadence_hours"},
		{"spring forward", Definition{}, Contact{Phone: "+12125550100", TimeZone: "America/New_York"}, "2026-03-08T01:00:00-05:00", "2026-03-08T08:00:00-04:00", "legal_window"},
		{"zone from zip", Definition{}, Contact{Phone: "+12125550100", Zip: "90210"}, "2026-03-09T09:00:00-04:00", "2026-03-09T08:00:00-07:00", "legal_window"},
		{"no zone", Definition{}, Contact{Phone: "+18005550100"}, "2026-03-09T09:00:00-04:00", "", "no_zone"},
		{"bad zone field", Definition{}, Contact{Phone: "+12125550100", TimeZone: "Mars/Base"}, "2026-03-09T09:00:00-04:00", "", "no_zone"},
		{"never open", Definition{CadenceHours: []Window{{Days: []string{"mon"}, Start: "01:00", End: "02:00"}}}, Contact{Phone: "+12125550100", TimeZone: "America/New_York"}, "2026-03-09T09:00:00-04:00", "", "no_allowed_time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := at(t, tc.earliest)
			pl, err := p.Place(tc.def, tc.contact, StepCall, now, now)
			require.NoError(t, err)
			if tc.want == "" {
				require.True(t, pl.Stop)
				require.Equal(t, tc.code, pl.Block.Code)
				return
			}
			require.False(t, pl.Stop)
			require.True(t, pl.At.Equal(at(t, tc.want)), "got %s", pl.At.Format(time.RFC3339))
			if tc.code == "" {
				require.Nil(t, pl.Block)
			} else {
				require.Equal(t, tc.code, pl.Block.Code)
				require.True(t, pl.Block.NextEligible.Equal(pl.At))
			}
		})
	}
}

func TestPlannerAtClaim(t *testing.T) {
	t.Parallel()
	p := testPlanner(t)
	now := at(t, "2026-03-09T12:00:00-04:00")
	base := ClaimCandidate{
		Action:        ScheduledAction{ID: "a1", Step: 1, Type: StepCall, Attempt: 1},
		Enrollment:    Enrollment{ID: "e1", Status: EnrollmentActive},
		Contact:       Contact{ID: "c1", Phone: "+13055550100", TimeZone: "America/New_York", State: "FL"},
		CadenceStatus: StatusActive,
		Definition:    Definition{Steps: []Step{{Type: StepCall}}},
	}
	calls := func(ds ...time.Duration) []Attempt {
		var out []Attempt
		for i, d := range ds {
			out = append(out, Attempt{ActionID: "h" + string(rune('0'+i)), Channel: StepCall, At: now.Add(-d), Disposition: "no_answer"})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		mod  func(c *ClaimCandidate)
		kind VerdictKind
		code string
		next string
	}{
		{"run", func(*ClaimCandidate) {}, VerdictRun, "", ""},
		{"dnc", func(c *ClaimCandidate) { c.DNC = true }, VerdictStop, BlockDNC, ""},
		{"archived", func(c *ClaimCandidate) { c.CadenceStatus = StatusArchived }, VerdictStop, "", ""},
		{"inactive", func(c *ClaimCandidate) { c.CadenceStatus = StatusInactive }, VerdictDefer, BlockInactive, "2026-03-09T13:00:00-04:00"},
		{"step gone", func(c *ClaimCandidate) { c.Action.Step = 3 }, VerdictStop, BlockStepAbsent, ""},
		{"in flight", func(c *ClaimCandidate) { c.History = []Attempt{{ActionID: "x", Channel: StepCall, At: now}} }, VerdictDefer, BlockInFlight, "2026-03-09T12:01:00-04:00"},
		{"two calls ok", func(c *ClaimCandidate) { c.History = calls(time.Hour, 2*time.Hour) }, VerdictRun, "", ""},
		{"florida third call frees at 24h", func(c *ClaimCandidate) { c.History = calls(time.Hour, 2*time.Hour, 3*time.Hour) },
			VerdictDefer, "harassment_limit", "2026-03-10T09:00:00-04:00"},
		{"limit then window", func(c *ClaimCandidate) { c.History = calls(time.Hour, 2*time.Hour, 13*time.Hour) },
			VerdictDefer, "harassment_limit", "2026-03-10T08:00:00-04:00"},
		{"cadence limit", func(c *ClaimCandidate) {
			c.Definition.Harassment = Harassment{Calls: &Limit{Max: 1, Period: Duration(48 * time.Hour)}}
			c.History = calls(20 * time.Hour)
		}, VerdictDefer, "harassment_limit", "2026-03-10T16:00:00-04:00"},
		{"no zone", func(c *ClaimCandidate) { c.Contact = Contact{ID: "c1", Phone: "+18005550100"} }, VerdictStop, BlockNoZone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			v, err := p.AtClaim(c, now)
			require.NoError(t, err)
			require.Equal(t, tc.kind, v.Kind, v.String())
			if tc.code != "" {
				require.Equal(t, tc.code, v.Block.Code)
			}
			if tc.next != "" {
				require.True(t, v.DueAt.Equal(at(t, tc.next)), "due %s", v.DueAt.Format(time.RFC3339))
			}
		})
	}
}

func TestComplianceWindowsConversion(t *testing.T) {
	t.Parallel()
	ws := []Window{{Days: []string{"mon"}, Start: "09:00", End: "10:00"}}
	require.Equal(t, []compliance.Window{{Days: []string{"mon"}, Start: "09:00", End: "10:00"}}, ComplianceWindows(ws))
}
