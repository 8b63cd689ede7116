package compliance

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckLimits(t *testing.T) {
	t.Parallel()
	now := utc(t, "2026-06-02 12:00")
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	call := func(d time.Duration) Event { return Event{At: ago(d), Channel: ChannelCall} }
	sms := func(d time.Duration) Event { return Event{At: ago(d), Channel: ChannelSMS} }
	h := time.Hour
	fl := Limit{Max: 3, Period: 24 * h, Scope: ScopeCalls, Source: "state FL"}
	md := Limit{Max: 3, Period: 24 * h, Scope: ScopeBoth, Source: "state MD"}
	smsOnly := Limit{Max: 1, Period: 4 * h, Scope: ScopeSMS, Source: "cadence"}
	week := Limit{Max: 5, Period: 7 * 24 * h, Scope: ScopeCalls, Source: "business"}
	cases := []struct {
		name    string
		ch      Channel
		history []Event
		limits  []Limit
		ok      bool
		next    time.Time
		words   []string
	}{
		{name: "no limits", ch: ChannelCall, history: []Event{call(h), call(2 * h)}, ok: true},
		{name: "no history", ch: ChannelCall, limits: []Limit{fl}, ok: true},
		{name: "two of three", ch: ChannelCall, history: []Event{call(h), call(2 * h)}, limits: []Limit{fl}, ok: true},
		{name: "three of three: wait for the oldest to age out", ch: ChannelCall,
			history: []Event{call(h), call(5 * h), call(10 * h)}, limits: []Limit{fl},
			next: ago(10 * h).Add(24 * h), words: []string{"3 calls per 24h (state FL)", "3 in the last 24h", "frees up at 2026-06-03T02:00:00Z"}},
		{name: "history order does not matter", ch: ChannelCall,
			history: []Event{call(5 * h), call(10 * h), call(h)}, limits: []Limit{fl}, next: ago(10 * h).Add(24 * h)},
		{name: "an event exactly one period ago no longer counts", ch: ChannelCall,
			history: []Event{call(h), call(5 * h), call(24 * h)}, limits: []Limit{fl}, ok: true},
		{name: "an event one nanosecond younger than the period still counts", ch: ChannelCall,
			history: []Event{call(h), call(5 * h), call(24*h - 1)}, limits: []Limit{fl}, next: now.Add(1)},
		{name: "older events ignored", ch: ChannelCall,
			history: []Event{call(h), call(5 * h), call(25 * h), call(30 * h)}, limits: []Limit{fl}, ok: true},
		{name: "over the cap (e.g. rules tightened): wait until two have aged out", ch: ChannelCall,
			history: []Event{call(h), call(2 * h), call(3 * h), call(4 * h), call(5 * h)}, limits: []Limit{fl},
			next: ago(3 * h).Add(24 * h)},
		{name: "ties at the same instant age out together", ch: ChannelCall,
			history: []Event{call(2 * h), call(2 * h), call(2 * h)}, limits: []Limit{fl}, next: ago(2 * h).Add(24 * h)},
		{name: "FL does not count texts", ch: ChannelCall,
			history: []Event{call(h), call(2 * h), sms(3 * h), sms(4 * h)}, limits: []Limit{fl}, ok: true},
		{name: "FL does not limit texts", ch: ChannelSMS,
			history: []Event{call(h), call(2 * h), call(3 * h)}, limits: []Limit{fl}, ok: true},
		{name: "MD counts texts with calls", ch: ChannelCall,
			history: []Event{call(h), sms(2 * h), sms(3 * h)}, limits: []Limit{md}, next: ago(3 * h).Add(24 * h), words: []string{"calls+sms"}},
		{name: "MD limits a text after calls", ch: ChannelSMS,
			history: []Event{call(h), call(2 * h), call(6 * h)}, limits: []Limit{md}, next: ago(6 * h).Add(24 * h)},
		{name: "SMS-only limit ignores calls", ch: ChannelSMS,
			history: []Event{call(h)}, limits: []Limit{smsOnly}, ok: true},
		{name: "SMS-only limit", ch: ChannelSMS,
			history: []Event{sms(h)}, limits: []Limit{smsOnly}, next: ago(h).Add(4 * h)},
		{name: "SMS-only limit does not restrict calls", ch: ChannelCall,
			history: []Event{sms(h)}, limits: []Limit{smsOnly}, ok: true},
		{name: "several limits: the latest next-eligible wins", ch: ChannelCall,
			history: []Event{call(h), call(2 * h), call(3 * h), call(50 * h), call(100 * h)}, limits: []Limit{fl, week},
			next: ago(100 * h).Add(7 * 24 * h), words: []string{"state FL", "business"}},
		{name: "a claimed future event counts", ch: ChannelCall,
			history: []Event{call(h), call(2 * h), call(-10 * time.Minute)}, limits: []Limit{fl}, next: ago(2 * h).Add(24 * h)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, next, reason, err := CheckLimits(now, tc.ch, tc.history, tc.limits)
			require.NoError(t, err)
			require.Equal(t, tc.ok, ok, reason)
			if tc.ok {
				require.True(t, next.Equal(now))
				require.Empty(t, reason)
				return
			}
			require.True(t, tc.next.Equal(next), "want %s, got %s", tc.next, next)
			for _, w := range tc.words {
				require.Contains(t, reason, w)
			}
			// At next it is allowed, and one nanosecond before it is not.
			ok2, _, _, err := CheckLimits(next, tc.ch, tc.history, tc.limits)
			require.NoError(t, err)
			require.True(t, ok2)
			ok3, _, _, err := CheckLimits(next.Add(-1), tc.ch, tc.history, tc.limits)
			require.NoError(t, err)
			require.False(t, ok3)
		})
	}
}

func TestCheckLimitsErrors(t *testing.T) {
	t.Parallel()
	now := utc(t, "2026-06-02 12:00")
	_, _, _, err := CheckLimits(now, "fax", nil, nil)
	require.ErrorContains(t, err, "channel")
	_, _, _, err = CheckLimits(now, ChannelCall, nil, []Limit{{Max: 0, Period: time.Hour, Scope: ScopeCalls}})
	require.ErrorContains(t, err, "limits[0].max")
	_, _, _, err = CheckLimits(now, ChannelCall, nil, []Limit{{Max: 1, Period: 0, Scope: ScopeCalls}})
	require.ErrorContains(t, err, "limits[0].period")
	_, _, _, err = CheckLimits(now, ChannelCall, nil, []Limit{{Max: 1, Period: time.Hour}})
	require.ErrorContains(t, err, "limits[0].scope")
}

func TestEffectiveLimits(t *testing.T) {
	t.Parallel()
	h := time.Hour
	rules := mustRules(t)
	fl := rules.StateRulesFor([]string{"FL"})
	md := rules.StateRulesFor([]string{"MD"})
	cases := []struct {
		name              string
		business, cadence []Limit
		states            []StateRule
		want              []string
	}{
		{name: "nothing", want: nil},
		{name: "business only", business: []Limit{{Max: 5, Period: 24 * h, Scope: ScopeCalls}}, want: []string{"5 calls per 24h (business)"}},
		{name: "cadence tightens business: the looser is redundant",
			business: []Limit{{Max: 5, Period: 24 * h, Scope: ScopeCalls}}, cadence: []Limit{{Max: 2, Period: 24 * h, Scope: ScopeCalls}},
			want: []string{"2 calls per 24h (cadence)"}},
		{name: "cadence cannot loosen business",
			business: []Limit{{Max: 2, Period: 24 * h, Scope: ScopeCalls}}, cadence: []Limit{{Max: 9, Period: 24 * h, Scope: ScopeCalls}},
			want: []string{"2 calls per 24h (business)"}},
		{name: "FL caps a business rule of 10 per day",
			business: []Limit{{Max: 10, Period: 24 * h, Scope: ScopeCalls}}, states: fl,
			want: []string{"3 calls per 24h (state FL)"}},
		{name: "different periods both hold",
			business: []Limit{{Max: 5, Period: 7 * 24 * h, Scope: ScopeCalls}}, states: fl,
			want: []string{"3 calls per 24h (state FL)", "5 calls per 7d (business)"}},
		{name: "MD's calls+sms cap makes a calls-only cap of 3 redundant",
			business: []Limit{{Max: 3, Period: 24 * h, Scope: ScopeCalls}, {Max: 4, Period: 24 * h, Scope: ScopeSMS}}, states: md,
			want: []string{"3 calls+sms per 24h (state MD)"}},
		{name: "a stricter SMS cap survives MD",
			cadence: []Limit{{Max: 1, Period: 24 * h, Scope: ScopeSMS}}, states: md,
			want: []string{"1 sms per 24h (cadence)", "3 calls+sms per 24h (state MD)"}},
		{name: "equal limits kept once",
			business: []Limit{{Max: 3, Period: 24 * h, Scope: ScopeCalls}}, cadence: []Limit{{Max: 3, Period: 24 * h, Scope: ScopeCalls}},
			want: []string{"3 calls per 24h (business)"}},
		{name: "several states: all caps",
			states: append(append([]StateRule{}, fl...), md...),
			want:   []string{"3 calls+sms per 24h (state MD)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := EffectiveLimits(tc.business, tc.cadence, tc.states)
			require.NoError(t, err)
			var s []string
			for _, l := range got {
				s = append(s, l.String())
			}
			require.Equal(t, tc.want, s)
		})
	}
	_, err := EffectiveLimits(nil, []Limit{{Max: 1, Period: -h, Scope: ScopeCalls}}, nil)
	require.ErrorContains(t, err, "cadence[0].period")
}

func TestNextEligible(t *testing.T) {
	t.Parallel()
	legal := mustRules(t)
	ny := mustZone(t, "America/New_York")
	in := Inputs{Channel: ChannelCall, Rules: legal, Contact: Location{Zones: []*time.Location{ny}, States: []string{"FL"}}}
	limits, err := EffectiveLimits(nil, nil, legal.StateRulesFor([]string{"FL"}))
	require.NoError(t, err)
	now := at(t, "America/New_York", "2026-06-02 19:00")
	// Three calls since 22:30 yesterday: the oldest ages out at 22:30 today,
	// after FL's 20:00 close: next is 08:00 tomorrow.
	history := []Event{
		{At: at(t, "America/New_York", "2026-06-01 22:30"), Channel: ChannelCall},
		{At: at(t, "America/New_York", "2026-06-02 09:00"), Channel: ChannelCall},
		{At: at(t, "America/New_York", "2026-06-02 10:00"), Channel: ChannelCall},
	}
	got, b, err := NextEligible(now, history, limits, in)
	require.NoError(t, err)
	require.Equal(t, at(t, "America/New_York", "2026-06-03 08:00"), got.In(ny))
	require.NotNil(t, b)
	require.Equal(t, BlockLimit, b.Code)
	require.Contains(t, b.Reason, "harassment limit 3 calls per 24h (state FL)")
	require.Contains(t, b.Reason, "; then outside legal window")
	require.True(t, b.Next.Equal(got))

	// A limit that frees up inside the window: no window block.
	history[0].At = at(t, "America/New_York", "2026-06-01 19:30")
	got, b, err = NextEligible(now, history, limits, in)
	require.NoError(t, err)
	require.Equal(t, at(t, "America/New_York", "2026-06-02 19:30"), got.In(ny))
	require.Equal(t, BlockLimit, b.Code)
	require.NotContains(t, b.Reason, "then")

	// Within limits and window: now, no block.
	got, b, err = NextEligible(now, history[1:], limits, in)
	require.NoError(t, err)
	require.True(t, got.Equal(now))
	require.Nil(t, b)

	// Within limits but outside the window: the window's block.
	late := at(t, "America/New_York", "2026-06-02 20:30")
	got, b, err = NextEligible(late, history[1:], limits, in)
	require.NoError(t, err)
	require.Equal(t, at(t, "America/New_York", "2026-06-03 08:00"), got.In(ny))
	require.Equal(t, BlockState, b.Code)

	_, _, err = NextEligible(now, nil, nil, Inputs{Rules: legal, Contact: in.Contact})
	require.ErrorContains(t, err, "channel")
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Scope{"calls": ScopeCalls, "CALL": ScopeCalls, "sms": ScopeSMS, "texts": ScopeSMS, "calls+sms": ScopeBoth, " both ": ScopeBoth} {
		got, err := ParseScope(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := ParseScope("email")
	require.ErrorContains(t, err, "want calls, sms or calls+sms")
	require.Equal(t, "calls+sms", ScopeBoth.String())
	require.True(t, ScopeBoth.Has(ChannelCall) && ScopeBoth.Has(ChannelSMS))
	require.False(t, ScopeCalls.Has(ChannelSMS))
	require.Equal(t, "2 sms per 1h30m0s", Limit{Max: 2, Period: 90 * time.Minute, Scope: ScopeSMS}.String())
	require.Equal(t, "1 calls per 7d (x)", Limit{Max: 1, Period: 7 * 24 * time.Hour, Scope: ScopeCalls, Source: "x"}.String())
}
