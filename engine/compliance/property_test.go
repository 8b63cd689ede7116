package compliance

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// randomWindows makes a WeeklyWindows with 1–3 windows on random days; on
// minute granularity, so that boundaries fall anywhere.
func randomWindows(t *testing.T, rng *rand.Rand) WeeklyWindows {
	days := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun", "mon-fri", "sat-sun", "mon-sun", "fri-mon"}
	var ws []Window
	for range 1 + rng.IntN(3) {
		s := rng.IntN(minutesPerDay - 60)
		e := s + 1 + rng.IntN(minutesPerDay-s)
		if rng.IntN(2) == 0 && e < s+240 { // wide windows meet more often
			e = min(minutesPerDay, s+240+rng.IntN(600))
		}
		if rng.IntN(4) == 0 { // favour hour boundaries, where DST happens
			s, e = s/60*60, (e+59)/60*60
			if e > minutesPerDay {
				e = minutesPerDay
			}
			if s == e {
				e = s + 60
			}
		}
		ws = append(ws, Window{Days: []string{days[rng.IntN(len(days))]}, Start: fmtMinute(s), End: fmtMinute(e)})
	}
	return mustWindows(t, ws...)
}

// TestNextAllowedProperty checks NextAllowed against the brute-force checker
// on random windows, zones (including DST-at-midnight, 30-minute-DST and
// +05:45 zones), states, instants and horizons: the answer is allowed, no
// earlier minute from now is, and WindowOpenUntil's interval is open
// throughout and closed at its end.
func TestNextAllowedProperty(t *testing.T) {
	t.Parallel()
	const seed = 20261101
	rng := rand.New(rand.NewPCG(seed, 1))
	zoneNames := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
		"America/Anchorage", "Pacific/Honolulu", "America/Adak", "America/Puerto_Rico", "UTC",
		"America/Havana", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/London"}
	var zones []*time.Location
	for _, n := range zoneNames {
		zones = append(zones, mustZone(t, n))
	}
	states := []string{"FL", "TX", "LA", "RI", "CT", "MD", "NY"}
	legal, open := mustRules(t), openRules(t)
	// Instants near the year's DST changes in both hemispheres, and anywhere.
	pivots := []time.Time{utc(t, "2026-03-08 00:00"), utc(t, "2026-11-01 00:00"), utc(t, "2026-03-29 00:00"),
		utc(t, "2026-10-25 00:00"), utc(t, "2026-04-04 12:00"), utc(t, "2026-09-05 12:00"), utc(t, "2026-07-02 00:00")}
	cases := 400
	if testing.Short() {
		cases = 100
	}
	var stats [4]int // none within horizon, open at now, moved < 1 day, moved ≥ 1 day
	defer func() {
		t.Logf("cases: %d none, %d open now, %d moved < 24 h, %d moved ≥ 24 h", stats[0], stats[1], stats[2], stats[3])
	}()
	for i := range cases {
		in := Inputs{Rules: legal, Horizon: time.Duration(1+rng.IntN(4)) * 24 * time.Hour}
		if rng.IntN(3) == 0 {
			in.Rules = open
		}
		for range 1 + rng.IntN(2) {
			in.Contact.Zones = append(in.Contact.Zones, zones[rng.IntN(len(zones))])
		}
		if rng.IntN(2) == 0 {
			in.Contact.States = append(in.Contact.States, states[rng.IntN(len(states))])
		}
		if rng.IntN(2) == 0 {
			in.TargetHours = randomWindows(t, rng)
		}
		if rng.IntN(3) == 0 {
			in.CadenceHours = randomWindows(t, rng)
			in.BusinessZone = zones[rng.IntN(len(zones))]
		}
		var now time.Time
		if rng.IntN(2) == 0 {
			now = pivots[rng.IntN(len(pivots))].Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		} else {
			now = utc(t, "2026-01-01 00:00").Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		}
		got, _, err := NextAllowed(now, in)
		switch {
		case err != nil:
			stats[0]++
		case got.Equal(now):
			stats[1]++
		case got.Sub(now) > 24*time.Hour:
			stats[3]++
		default:
			stats[2]++
		}
		limit := now.Add(in.Horizon)
		// Every minute from now to the answer (or to the horizon) is closed.
		end := got
		if err != nil {
			require.True(t, errors.Is(err, ErrNoAllowedTime), "case %d: %v", i, err)
			end = limit
		}
		require.False(t, end.Before(now), "case %d", i)
		for m := now; m.Before(end); m = nextMinute(m) {
			if bruteAllowed(in, m) {
				t.Fatalf("case %d (seed %d): %s is allowed but NextAllowed(%s) = %s, %v", i, seed, m.UTC(), now.UTC(), got.UTC(), err)
			}
		}
		if err != nil {
			continue
		}
		require.True(t, bruteAllowed(in, got), "case %d (seed %d): answer %s is not allowed (now %s)", i, seed, got.UTC(), now.UTC())
		// The open interval from the answer.
		until, isOpen, err := WindowOpenUntil(got, in)
		require.NoError(t, err)
		require.True(t, isOpen, "case %d", i)
		require.True(t, until.After(got), "case %d", i)
		checkEnd := until
		if checkEnd.After(got.Add(36 * time.Hour)) {
			checkEnd = got.Add(36 * time.Hour)
		}
		for m := got; m.Before(checkEnd); m = nextMinute(m) {
			require.True(t, bruteAllowed(in, m), "case %d (seed %d): %s inside [%s, %s) is closed", i, seed, m.UTC(), got.UTC(), until.UTC())
		}
		if until.Before(got.Add(in.Horizon)) {
			require.False(t, bruteAllowed(in, until), "case %d (seed %d): window still open at its end %s", i, seed, until.UTC())
		}
	}
}

func nextMinute(t time.Time) time.Time {
	return t.Truncate(time.Minute).Add(time.Minute)
}
