package compliance

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultRules(t *testing.T) {
	t.Parallel()
	r := mustRules(t)
	require.Equal(t, "mon-sun 08:00–21:00", r.LegalDefault.String())
	require.Contains(t, r.DefaultCitation, "47 CFR 64.1200(c)(1)")
	cases := []struct {
		state    string
		window   string
		limits   string
		holidays bool
		cite     string
	}{
		{"FL", "mon-sun 08:00–20:00", "3 calls per 24h (state FL)", false, "501.616"},
		{"OK", "mon-sun 08:00–20:00", "3 calls per 24h (state OK)", false, "775C.4"},
		{"MD", "mon-sun 08:00–20:00", "3 calls+sms per 24h (state MD)", false, "14-4503"},
		{"TX", "mon-sat 09:00–21:00; sun 12:00–21:00", "", false, "301.051"},
		{"WA", "mon-sun 08:00–20:00", "", false, "80.36.390"},
		{"CT", "mon-sun 09:00–20:00", "", false, "42-288a"},
		{"LA", "mon-sat 08:00–20:00", "", true, "45:811"},
		{"RI", "mon-fri 09:00–18:00; sat 10:00–17:00", "", true, "5-61-3.6"},
	}
	require.Len(t, r.States, len(cases))
	for _, tc := range cases {
		sr, ok := r.States[tc.state]
		require.True(t, ok, tc.state)
		require.Equal(t, tc.window, sr.Window.String(), tc.state)
		var ls []string
		for _, l := range sr.Limits {
			ls = append(ls, l.String())
		}
		require.Equal(t, tc.limits, strings.Join(ls, ", "), tc.state)
		require.Equal(t, tc.holidays, sr.ClosedOnHolidays, tc.state)
		require.Contains(t, sr.Citation, tc.cite, tc.state)
	}
	require.Len(t, r.StateRulesFor([]string{"fl", "FL", "NY", "MD"}), 2)
}

func TestLoadRulesErrors(t *testing.T) {
	t.Parallel()
	const head = "state,days,start,end,max_calls,max_period,counts,holidays,citation\n"
	const def = "*,mon-sun,08:00,21:00,,,,,federal\n"
	cases := []struct {
		name, in, err string
	}{
		{"empty", "", "read header"},
		{"wrong header", "state,days,from,end,max_calls,max_period,counts,holidays,citation\n" + def, "column 3 is \"from\", want \"start\""},
		{"no default", head + "FL,mon-sun,08:00,20:00,,,,,x\n", "no \"*\" row"},
		{"default with caps", head + "*,mon-sun,08:00,21:00,3,24h,calls,,x\n", "only a window"},
		{"bad state", head + def + "Florida,mon-sun,08:00,20:00,,,,,x\n", "line 3: field state"},
		{"missing citation", head + def + "FL,mon-sun,08:00,20:00,,,,,\n", "line 3: field citation: required"},
		{"bad days", head + def + "FL,weekdays,08:00,20:00,,,,,x\n", "line 3: field days: invalid day"},
		{"days missing", head + def + "FL,,08:00,20:00,,,,,x\n", "line 3: field days: required"},
		{"bad start", head + def + "FL,mon-sun,8am,20:00,,,,,x\n", "line 3: field start"},
		{"bad end", head + def + "FL,mon-sun,08:00,8pm,,,,,x\n", "line 3: field end"},
		{"reversed", head + def + "FL,mon-sun,20:00,08:00,,,,,x\n", "line 3: field end"},
		{"bad max", head + def + "FL,mon-sun,08:00,20:00,three,24h,calls,,x\n", "line 3: field max_calls"},
		{"zero max", head + def + "FL,mon-sun,08:00,20:00,0,24h,calls,,x\n", "line 3: field max_calls"},
		{"max without period", head + def + "FL,mon-sun,08:00,20:00,3,,calls,,x\n", "line 3: field max_period: required"},
		{"period without max", head + def + "FL,mon-sun,08:00,20:00,,24h,calls,,x\n", "line 3: field max_calls: required"},
		{"bad period", head + def + "FL,mon-sun,08:00,20:00,3,a day,calls,,x\n", "line 3: field max_period"},
		{"negative period", head + def + "FL,mon-sun,08:00,20:00,3,-1h,calls,,x\n", "line 3: field max_period"},
		{"missing counts", head + def + "FL,mon-sun,08:00,20:00,3,24h,,,x\n", "line 3: field counts: required"},
		{"bad counts", head + def + "FL,mon-sun,08:00,20:00,3,24h,emails,,x\n", "line 3: field counts"},
		{"bad holidays", head + def + "FL,mon-sun,08:00,20:00,,,,open,x\n", "line 3: field holidays"},
		{"conflicting caps", head + def + "FL,mon-sun,08:00,20:00,3,24h,calls,,x\n# comment\nFL,sun,10:00,12:00,4,24h,calls,,x\n", "line 5: field max_calls: state FL already has different caps on line 3"},
		{"field count", head + def + "FL,mon-sun,08:00\n", "line 3"},
		{"bad quoting", head + def + "FL,\"mon-sun,08:00,20:00,,,,,x\n", "line 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadRules(strings.NewReader(tc.in))
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestLoadRulesOperatorTable(t *testing.T) {
	t.Parallel()
	in := `state,days,start,end,max_calls,max_period,counts,holidays,citation
# A stricter house policy.
*,mon-fri,09:00,18:00,,,,,house policy
*,sat,10:00,14:00,,,,,house policy
FL,mon-sun,08:00,20:00,3,24h,calls,,Fla. Stat. § 501.616
FL,,,,3,24h,calls,,same caps repeated are fine
ZZ,,,,2,7d,calls+sms,closed,test
`
	r, err := LoadRules(strings.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, "mon-fri 09:00–18:00; sat 10:00–14:00", r.LegalDefault.String())
	require.Equal(t, "house policy", r.DefaultCitation)
	zz := r.States["ZZ"]
	require.True(t, zz.Window.Always())
	require.True(t, zz.ClosedOnHolidays)
	require.Equal(t, []Limit{{Max: 2, Period: 7 * 24 * time.Hour, Scope: ScopeBoth, Source: "state ZZ"}}, zz.Limits)

	// A limits-and-holidays-only state still closes federal holidays.
	ny := mustZone(t, "America/New_York")
	got, b, err := NextAllowed(at(t, "America/New_York", "2026-12-25 10:00"), Inputs{Rules: r, Contact: Location{Zones: []*time.Location{ny}, States: []string{"ZZ"}}})
	require.NoError(t, err)
	// Christmas 2026 is a Friday; the house policy opens Saturday at 10:00.
	require.Equal(t, at(t, "America/New_York", "2026-12-26 10:00"), got.In(ny))
	require.Equal(t, BlockHoliday, b.Code)
	require.Contains(t, b.Reason, "closed on legal holidays")
}

func FuzzLoadRules(f *testing.F) {
	f.Add(string(statesCSV))
	f.Add("state,days,start,end,max_calls,max_period,counts,holidays,citation\n*,mon-sun,08:00,21:00,,,,,x\nFL,sun,10:00,12:00,3,24h,calls,closed,y\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := LoadRules(strings.NewReader(s))
		if err != nil {
			return
		}
		require.False(t, r.LegalDefault.Always())
		for code, sr := range r.States {
			require.Equal(t, code, sr.State)
			require.NotEmpty(t, sr.Citation)
			for _, l := range sr.Limits {
				require.NoError(t, l.Validate())
			}
		}
	})
}
