package compliance

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	require.NoError(t, err)
	return z
}

func mustRules(t testing.TB) *Rules {
	t.Helper()
	r, err := DefaultRules()
	require.NoError(t, err)
	return r
}

// openRules has no legal window, so that tests can look at one window alone
// (DST behaviour of target hours at 02:00, say).
func openRules(t testing.TB) *Rules {
	t.Helper()
	r, err := LoadRules(strings.NewReader("state,days,start,end,max_calls,max_period,counts,holidays,citation\n*,mon-sun,00:00,24:00,,,,,test\n"))
	require.NoError(t, err)
	return r
}

func mustWindows(t testing.TB, ws ...Window) WeeklyWindows {
	t.Helper()
	w, err := ParseWindows(ws)
	require.NoError(t, err)
	return w
}

func at(t testing.TB, zone, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, mustZone(t, zone))
	require.NoError(t, err)
	return v
}

func utc(t testing.TB, s string) time.Time {
	t.Helper()
	return at(t, "UTC", s)
}

func TestNextAllowed(t *testing.T) {
	t.Parallel()
	legal := mustRules(t)
	open := openRules(t)
	ny, chi, la := mustZone(t, "America/New_York"), mustZone(t, "America/Chicago"), mustZone(t, "America/Los_Angeles")
	den, phx, hnl := mustZone(t, "America/Denver"), mustZone(t, "America/Phoenix"), mustZone(t, "Pacific/Honolulu")
	contact := func(states []string, zones ...*time.Location) Location {
		return Location{Zones: zones, States: states}
	}
	nineToFive := mustWindows(t, Window{Days: []string{"mon-fri"}, Start: "09:00", End: "17:00"})
	cases := []struct {
		name  string
		now   time.Time
		in    Inputs
		want  time.Time
		code  BlockCode // "" = not blocked
		words []string  // in the block reason
	}{
		{name: "open now", now: at(t, "America/New_York", "2026-03-10 12:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: at(t, "America/New_York", "2026-03-10 12:00")},
		{name: "before 08:00 waits for the legal window", now: at(t, "America/New_York", "2026-03-10 07:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: at(t, "America/New_York", "2026-03-10 08:00"),
			code: BlockLegal, words: []string{"outside legal window mon-sun 08:00–21:00 America/New_York", "next eligible 2026-03-10T08:00:00-04:00"}},
		{name: "08:00 exactly is open", now: at(t, "America/New_York", "2026-03-10 08:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: at(t, "America/New_York", "2026-03-10 08:00")},
		{name: "21:00 exactly is closed: next morning (search crosses midnight)", now: at(t, "America/New_York", "2026-03-10 21:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: at(t, "America/New_York", "2026-03-11 08:00"), code: BlockLegal},
		{name: "20:59 is open", now: at(t, "America/Los_Angeles", "2026-03-10 20:59"),
			in: Inputs{Rules: legal, Contact: contact(nil, la)}, want: at(t, "America/Los_Angeles", "2026-03-10 20:59")},
		{name: "FL closes at 20:00", now: at(t, "America/New_York", "2026-03-10 20:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"FL"}, ny)}, want: at(t, "America/New_York", "2026-03-11 08:00"),
			code: BlockState, words: []string{"legal window (FL) mon-sun 08:00–20:00 America/New_York"}},
		{name: "OK closes at 20:00", now: at(t, "America/Chicago", "2026-06-01 20:30"),
			in: Inputs{Rules: legal, Contact: contact([]string{"OK"}, chi)}, want: at(t, "America/Chicago", "2026-06-02 08:00"), code: BlockState},
		{name: "MD 19:59 is open", now: at(t, "America/New_York", "2026-06-01 19:59"),
			in: Inputs{Rules: legal, Contact: contact([]string{"MD"}, ny)}, want: at(t, "America/New_York", "2026-06-01 19:59")},
		{name: "MD 20:00 is closed", now: at(t, "America/New_York", "2026-06-01 20:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"MD"}, ny)}, want: at(t, "America/New_York", "2026-06-02 08:00"), code: BlockState},
		{name: "state without a rule adds nothing", now: at(t, "America/New_York", "2026-06-01 20:30"),
			in: Inputs{Rules: legal, Contact: contact([]string{"NY"}, ny)}, want: at(t, "America/New_York", "2026-06-01 20:30")},
		{name: "TX Saturday opens at 09:00", now: at(t, "America/Chicago", "2026-06-06 08:30"),
			in: Inputs{Rules: legal, Contact: contact([]string{"TX"}, chi)}, want: at(t, "America/Chicago", "2026-06-06 09:00"), code: BlockState},
		{name: "TX Sunday opens at noon", now: at(t, "America/Chicago", "2026-06-07 09:30"),
			in: Inputs{Rules: legal, Contact: contact([]string{"TX"}, chi)}, want: at(t, "America/Chicago", "2026-06-07 12:00"),
			code: BlockState, words: []string{"sun 12:00–21:00"}},
		{name: "TX El Paso Sunday noon Mountain", now: at(t, "America/Denver", "2026-06-07 11:59"),
			in: Inputs{Rules: legal, Contact: contact([]string{"TX"}, den)}, want: at(t, "America/Denver", "2026-06-07 12:00"), code: BlockState},
		{name: "LA no calls on Sunday", now: at(t, "America/Chicago", "2026-06-07 10:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"LA"}, chi)}, want: at(t, "America/Chicago", "2026-06-08 08:00"), code: BlockState},
		{name: "LA no calls on Independence Day (Saturday) nor its observed Friday", now: at(t, "America/Chicago", "2026-07-03 10:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"LA"}, chi)}, want: at(t, "America/Chicago", "2026-07-06 08:00"),
			code: BlockState, words: []string{"closed on legal holidays"}},
		{name: "LA Thanksgiving", now: at(t, "America/Chicago", "2026-11-26 09:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"LA"}, chi)}, want: at(t, "America/Chicago", "2026-11-27 08:00"), code: BlockState},
		{name: "RI Saturday closes at 17:00: Monday 09:00", now: at(t, "America/New_York", "2026-06-06 17:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"RI"}, ny)}, want: at(t, "America/New_York", "2026-06-08 09:00"), code: BlockState},
		{name: "CT opens at 09:00", now: at(t, "America/New_York", "2026-06-02 08:30"),
			in: Inputs{Rules: legal, Contact: contact([]string{"CT"}, ny)}, want: at(t, "America/New_York", "2026-06-02 09:00"), code: BlockState},
		{name: "several states: strictest of all (TX Sunday and FL 20:00)", now: at(t, "America/Chicago", "2026-06-07 10:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"FL", "TX"}, chi)}, want: at(t, "America/Chicago", "2026-06-07 12:00"), code: BlockState},
		{name: "850 both zones: 08:00 Eastern is 07:00 Central, wait for 08:00 Central", now: at(t, "America/New_York", "2026-06-02 08:00"),
			in: Inputs{Rules: legal, Contact: contact([]string{"FL"}, ny, chi)}, want: at(t, "America/New_York", "2026-06-02 09:00"),
			code: BlockLegal, words: []string{"America/Chicago"}},
		{name: "850 both zones: FL 20:00 Eastern ends the day", now: at(t, "America/Chicago", "2026-06-02 19:30"),
			in: Inputs{Rules: legal, Contact: contact([]string{"FL"}, ny, chi)}, want: at(t, "America/Chicago", "2026-06-03 08:00"),
			code: BlockState, words: []string{"America/New_York"}},
		{name: "cadence 9-17 New York with contact in Los Angeles: 11:00 New York", now: at(t, "America/New_York", "2026-06-02 09:00"),
			in:   Inputs{Rules: legal, Contact: contact(nil, la), CadenceHours: nineToFive, BusinessZone: ny},
			want: at(t, "America/New_York", "2026-06-02 11:00"), code: BlockLegal},
		{name: "cadence hours closed at 17:00 New York while LA is open: next business morning", now: at(t, "America/New_York", "2026-06-02 17:00"),
			in:   Inputs{Rules: legal, Contact: contact(nil, la), CadenceHours: nineToFive, BusinessZone: ny},
			want: at(t, "America/New_York", "2026-06-03 11:00"), code: BlockCadence, words: []string{"cadence hours mon-fri 09:00–17:00 America/New_York"}},
		{name: "cadence hours over the weekend", now: at(t, "America/New_York", "2026-06-05 18:00"),
			in:   Inputs{Rules: legal, Contact: contact(nil, ny), CadenceHours: nineToFive, BusinessZone: ny},
			want: at(t, "America/New_York", "2026-06-08 09:00"), code: BlockCadence},
		{name: "target hours with a lunch gap", now: at(t, "America/Chicago", "2026-06-02 12:15"),
			in: Inputs{Rules: legal, Contact: contact(nil, chi), TargetHours: mustWindows(t,
				Window{Days: []string{"mon-fri"}, Start: "10:00", End: "12:00"}, Window{Days: []string{"mon-fri"}, Start: "14:00", End: "16:00"})},
			want: at(t, "America/Chicago", "2026-06-02 14:00"), code: BlockTarget, words: []string{"target hours mon-fri 10:00–12:00, 14:00–16:00"}},
		{name: "every rule closed at once is explained", now: at(t, "America/New_York", "2026-06-06 22:00"),
			in:   Inputs{Rules: legal, Contact: contact([]string{"FL"}, ny), CadenceHours: nineToFive, BusinessZone: ny},
			want: at(t, "America/New_York", "2026-06-08 09:00"), code: BlockLegal, words: []string{"legal window", "(FL)", "cadence hours"}},
		{name: "Arizona: no DST, 08:00 MST is 15:00 UTC in summer", now: utc(t, "2026-07-01 14:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, phx)}, want: utc(t, "2026-07-01 15:00"), code: BlockLegal},
		{name: "Arizona: 08:00 MST is 15:00 UTC in winter too", now: utc(t, "2026-01-05 14:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, phx)}, want: utc(t, "2026-01-05 15:00"), code: BlockLegal},
		{name: "Hawaii: 08:00 HST is 18:00 UTC", now: utc(t, "2026-03-08 12:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, hnl)}, want: utc(t, "2026-03-08 18:00"), code: BlockLegal},

		// Spring forward, Sunday 2026-03-08 (US): 02:00 → 03:00.
		{name: "spring forward New York: legal window opens at 08:00 EDT = 12:00 UTC", now: utc(t, "2026-03-08 03:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: utc(t, "2026-03-08 12:00"), code: BlockLegal},
		{name: "spring forward Chicago: 08:00 CDT = 13:00 UTC", now: utc(t, "2026-03-08 03:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, chi)}, want: utc(t, "2026-03-08 13:00"), code: BlockLegal},
		{name: "spring forward Los Angeles: 08:00 PDT = 15:00 UTC", now: utc(t, "2026-03-08 06:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, la)}, want: utc(t, "2026-03-08 15:00"), code: BlockLegal},
		{name: "spring forward Denver and Phoenix together: Phoenix is later", now: utc(t, "2026-03-08 06:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, den, phx)}, want: utc(t, "2026-03-08 15:00"), code: BlockLegal},
		{name: "spring forward: a window starting in the skipped hour opens at 03:00 EDT", now: utc(t, "2026-03-08 06:00"),
			in:   Inputs{Rules: open, Contact: contact(nil, ny), TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "02:30", End: "04:00"})},
			want: utc(t, "2026-03-08 07:00"), code: BlockTarget},
		{name: "spring forward: a window inside the skipped hour never opens that day", now: utc(t, "2026-03-08 06:00"),
			in:   Inputs{Rules: open, Contact: contact(nil, ny), TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "02:00", End: "03:00"})},
			want: at(t, "America/New_York", "2026-03-15 02:00"), code: BlockTarget},
		{name: "spring forward: 01:59 EST is open in a 00:00-02:30 window", now: at(t, "America/New_York", "2026-03-08 01:59"),
			in:   Inputs{Rules: open, Contact: contact(nil, ny), TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "00:00", End: "02:30"})},
			want: at(t, "America/New_York", "2026-03-08 01:59")},

		// Fall back, Sunday 2026-11-01 (US): 02:00 → 01:00.
		{name: "fall back New York: 08:00 EST = 13:00 UTC", now: utc(t, "2026-11-01 05:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: utc(t, "2026-11-01 13:00"), code: BlockLegal},
		{name: "fall back Chicago: 08:00 CST = 14:00 UTC", now: utc(t, "2026-11-01 05:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, chi)}, want: utc(t, "2026-11-01 14:00"), code: BlockLegal},
		{name: "fall back: the 21:00 close is EST that evening", now: utc(t, "2026-11-02 01:30"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: utc(t, "2026-11-02 01:30")},
		{name: "fall back: 21:00 EST = 02:00 UTC is closed", now: utc(t, "2026-11-02 02:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, ny)}, want: utc(t, "2026-11-02 13:00"), code: BlockLegal},
		{name: "fall back: the repeated 01:30 opens again after 01:00-01:29 CST", now: utc(t, "2026-11-01 07:05"),
			in:   Inputs{Rules: open, Contact: contact(nil, chi), TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "01:30", End: "02:00"})},
			want: utc(t, "2026-11-01 07:30"), code: BlockTarget},
		{name: "fall back: first 01:30 is CDT", now: utc(t, "2026-11-01 05:00"),
			in:   Inputs{Rules: open, Contact: contact(nil, chi), TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "01:30", End: "02:00"})},
			want: utc(t, "2026-11-01 06:30"), code: BlockTarget},
		{name: "fall back: a window ending at 01:30 reopens when clocks go back to 01:00", now: utc(t, "2026-11-01 06:45"),
			in:   Inputs{Rules: open, Contact: contact(nil, chi), TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "00:00", End: "01:30"})},
			want: utc(t, "2026-11-01 07:00"), code: BlockTarget},
		{name: "fall back Phoenix unaffected", now: utc(t, "2026-11-01 14:00"),
			in: Inputs{Rules: legal, Contact: contact(nil, phx)}, want: utc(t, "2026-11-01 15:00"), code: BlockLegal},
		{name: "SMS obeys the same windows", now: at(t, "America/New_York", "2026-03-10 07:00"),
			in: Inputs{Channel: ChannelSMS, Rules: legal, Contact: contact(nil, ny)}, want: at(t, "America/New_York", "2026-03-10 08:00"), code: BlockLegal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, b, err := NextAllowed(tc.now, tc.in)
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "want %s, got %s", tc.want.UTC(), got.UTC())
			if tc.code == "" {
				require.Nil(t, b)
			} else {
				require.NotNil(t, b)
				require.Equal(t, tc.code, b.Code, b.Reason)
				require.True(t, b.Next.Equal(got))
				for _, w := range tc.words {
					require.Contains(t, b.Reason, w)
				}
			}
			// The answer agrees with the independent minute-by-minute checker.
			require.True(t, bruteAllowed(tc.in, got), "brute force says %s is closed", got)
			ok, err := Allowed(got, tc.in)
			require.NoError(t, err)
			require.True(t, ok)
			if !got.Equal(tc.now) {
				ok, err := Allowed(tc.now, tc.in)
				require.NoError(t, err)
				require.False(t, ok)
			}
		})
	}
}

func TestNextAllowedErrors(t *testing.T) {
	t.Parallel()
	legal := mustRules(t)
	ny := mustZone(t, "America/New_York")
	now := utc(t, "2026-06-01 12:00")
	never := mustWindows(t, Window{Days: []string{"sat"}, Start: "09:00", End: "10:00"})
	cases := []struct {
		name string
		in   Inputs
		err  string
		is   error
	}{
		{"no zone", Inputs{Rules: legal}, "no time zone known", ErrNoZone},
		{"no rules", Inputs{Contact: Location{Zones: []*time.Location{ny}}}, "rules: required", nil},
		{"cadence hours without business zone", Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{ny}}, CadenceHours: never}, "business_zone", nil},
		{"bad channel", Inputs{Channel: "fax", Rules: legal, Contact: Location{Zones: []*time.Location{ny}}}, "channel", nil},
		{"nil zone", Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{nil}}}, "contact.zones[0]", nil},
		{"windows that never meet", Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{ny}}, CadenceHours: never, BusinessZone: ny,
			TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "09:00", End: "10:00"})}, "no allowed time within 14d", ErrNoAllowedTime},
		{"a window only once a month is beyond a short horizon", Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{ny}}, Horizon: 3 * 24 * time.Hour,
			TargetHours: mustWindows(t, Window{Days: []string{"sat"}, Start: "09:00", End: "10:00"})}, "within 3d", ErrNoAllowedTime},
		{"LA only on holidays-closed Sundays", Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{ny}, States: []string{"LA"}},
			TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "09:00", End: "10:00"})}, "no allowed time", ErrNoAllowedTime},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := NextAllowed(now, tc.in)
			require.ErrorContains(t, err, tc.err)
			if tc.is != nil {
				require.True(t, errors.Is(err, tc.is))
			}
			_, _, err = WindowOpenUntil(now, tc.in)
			if tc.is == nil || errors.Is(tc.is, ErrNoZone) {
				require.Error(t, err)
			}
		})
	}
}

func TestWindowOpenUntil(t *testing.T) {
	t.Parallel()
	legal := mustRules(t)
	open := openRules(t)
	ny, la := mustZone(t, "America/New_York"), mustZone(t, "America/Los_Angeles")
	cases := []struct {
		name  string
		t     time.Time
		in    Inputs
		open  bool
		until time.Time
	}{
		{"FL until 20:00", at(t, "America/New_York", "2026-06-02 10:00"),
			Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{ny}, States: []string{"FL"}}}, true, at(t, "America/New_York", "2026-06-02 20:00")},
		{"closed", at(t, "America/New_York", "2026-06-02 07:00"),
			Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{ny}}}, false, time.Time{}},
		{"business 9-17 NY and contact LA: until 17:00 NY", at(t, "America/New_York", "2026-06-02 12:00"),
			Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{la}}, BusinessZone: ny,
				CadenceHours: mustWindows(t, Window{Days: []string{"mon-fri"}, Start: "09:00", End: "17:00"})}, true, at(t, "America/New_York", "2026-06-02 17:00")},
		{"contact LA closes first in the evening", at(t, "America/New_York", "2026-06-02 12:00"),
			Inputs{Rules: legal, Contact: Location{Zones: []*time.Location{la}}, BusinessZone: ny,
				CadenceHours: mustWindows(t, Window{Days: []string{"mon-fri"}, Start: "09:00", End: "24:00"})}, true, at(t, "America/Los_Angeles", "2026-06-02 21:00")},
		{"merged across midnight", at(t, "America/New_York", "2026-06-01 22:00"),
			Inputs{Rules: open, Contact: Location{Zones: []*time.Location{ny}}, TargetHours: mustWindows(t,
				Window{Days: []string{"mon"}, Start: "20:00", End: "24:00"}, Window{Days: []string{"tue"}, Start: "00:00", End: "02:00"})},
			true, at(t, "America/New_York", "2026-06-02 02:00")},
		{"always open: capped at the horizon", utc(t, "2026-06-01 00:00"),
			Inputs{Rules: open, Contact: Location{Zones: []*time.Location{ny}}, Horizon: 48 * time.Hour}, true, utc(t, "2026-06-03 00:00")},
		{"spring forward: a 01:00-04:00 window lasts 2 hours", at(t, "America/New_York", "2026-03-08 01:00"),
			Inputs{Rules: open, Contact: Location{Zones: []*time.Location{ny}}, TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "01:00", End: "04:00"})},
			true, at(t, "America/New_York", "2026-03-08 01:00").Add(2 * time.Hour)},
		{"fall back: a 01:00-04:00 window lasts 4 hours", at(t, "America/New_York", "2026-11-01 01:00"),
			Inputs{Rules: open, Contact: Location{Zones: []*time.Location{ny}}, TargetHours: mustWindows(t, Window{Days: []string{"sun"}, Start: "01:00", End: "04:00"})},
			true, utc(t, "2026-11-01 05:00").Add(4 * time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			until, open, err := WindowOpenUntil(tc.t, tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.open, open)
			if open {
				require.True(t, tc.until.Equal(until), "want %s, got %s", tc.until.UTC(), until.UTC())
			}
		})
	}
}
