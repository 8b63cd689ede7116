package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func rates(attempts, contacts, conversions int) Rates {
	r := Rates{Attempts: attempts, Contacts: contacts, Conversions: conversions}
	if attempts > 0 {
		r.ContactRate = float64(contacts) / float64(attempts)
	}
	if contacts > 0 {
		r.ConversionRate = float64(conversions) / float64(contacts)
	}
	return r
}

func step(n, attempts, contacts int) StepAnalytics {
	return StepAnalytics{Step: n, Rates: rates(attempts, contacts, 0)}
}

func callDef(name string, voicemail ...bool) Definition {
	d := Definition{Name: name}
	for _, vm := range voicemail {
		d.Steps = append(d.Steps, Step{Call: &CallStep{Voicemail: Voicemail{Enabled: vm, Asset: "vm"}}})
	}
	return d
}

func kinds(rs []Recommendation) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestWilsonInterval(t *testing.T) {
	lo, hi := wilson(0, 0)
	require.Equal(t, [2]float64{0, 1}, [2]float64{lo, hi})
	lo, hi = wilson(50, 100)
	require.InDelta(t, 0.404, lo, 0.001)
	require.InDelta(t, 0.596, hi, 0.001)
	lo, hi = wilson(0, 30)
	require.Zero(t, lo)
	require.InDelta(t, 0.114, hi, 0.001)
}

func TestRecommendations(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []RecommendCadence
		want []string
	}{
		{name: "nothing to compare", in: []RecommendCadence{
			{ID: "a", Status: StatusActive, Definition: callDef("A", false, false), Rates: rates(500, 100, 10)},
		}},
		{name: "a clear underperformer", in: []RecommendCadence{
			{ID: "good", Status: StatusActive, Definition: callDef("Good", false), Rates: rates(400, 120, 0)},
			{ID: "bad", Status: StatusActive, Definition: callDef("Bad", false), Rates: rates(400, 30, 0)},
		}, want: []string{"deactivate_underperformer:bad"}},
		{name: "worse but within noise", in: []RecommendCadence{
			{ID: "good", Status: StatusActive, Definition: callDef("Good", false), Rates: rates(120, 30, 0)},
			{ID: "meh", Status: StatusActive, Definition: callDef("Meh", false), Rates: rates(120, 20, 0)},
		}},
		{name: "too few attempts to judge", in: []RecommendCadence{
			{ID: "good", Status: StatusActive, Definition: callDef("Good", false), Rates: rates(400, 120, 0)},
			{ID: "new", Status: StatusActive, Definition: callDef("New", false), Rates: rates(60, 0, 0)},
		}},
		{name: "inactive cadences are not deactivated", in: []RecommendCadence{
			{ID: "good", Status: StatusActive, Definition: callDef("Good", false), Rates: rates(400, 120, 0)},
			{ID: "off", Status: StatusInactive, Definition: callDef("Off", false), Rates: rates(400, 10, 0)},
		}},
		{name: "dead last steps", in: []RecommendCadence{
			{ID: "long", Status: StatusActive, Definition: callDef("Long", false, false, false, false, false), Rates: rates(700, 110, 0),
				PerStep: []StepAnalytics{step(1, 200, 60), step(2, 150, 40), step(3, 120, 12), step(4, 120, 1), step(5, 110, 1)}},
		}, want: []string{"trim_steps:long:4:5"}},
		{name: "last steps weak but not beyond doubt", in: []RecommendCadence{
			{ID: "long", Status: StatusActive, Definition: callDef("Long", false, false, false), Rates: rates(100, 20, 0),
				PerStep: []StepAnalytics{step(1, 40, 12), step(2, 30, 7), step(3, 30, 2)}},
		}},
		{name: "voicemail on the first of several calls", in: []RecommendCadence{
			{ID: "vm", Status: StatusActive, Definition: callDef("VM", true, false)},
			{ID: "vm-last", Status: StatusActive, Definition: callDef("VM last", false, true)},
			{ID: "vm-only", Status: StatusActive, Definition: callDef("One call", true)},
		}, want: []string{"voicemail_on_later_attempts:vm:1"}},
		{name: "a cadence that converts better", in: []RecommendCadence{
			{ID: "star", Status: StatusActive, Definition: callDef("Star", false), Rates: rates(300, 100, 40)},
			{ID: "b", Status: StatusActive, Definition: callDef("B", false), Rates: rates(300, 100, 10)},
			{ID: "c", Status: StatusInactive, Definition: callDef("C", false), Rates: rates(300, 90, 9)},
		}, want: []string{"save_as_template:star"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Recommend(tc.in)
			require.Equal(t, tc.want, kinds(got))
			for _, r := range got {
				require.NotEmpty(t, r.Title)
				require.NotEmpty(t, r.Detail)
				require.NotEmpty(t, r.Action)
				require.NotEmpty(t, r.Evidence)
			}
		})
	}
}
