package predictive

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var day0 = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC) // a Bucket boundary

func TestLedgerRollingWindowEdges(t *testing.T) {
	t.Parallel()
	l := NewLedger()
	// Day 1: 100 live answers, 3 abandoned, all at 10:00–10:59.
	for i := range 100 {
		l.Record("c1", day0.Add(time.Duration(i)*30*time.Second), i < 3)
	}
	// Day 2: 100 more, none abandoned.
	for i := range 100 {
		l.Record("c1", day0.Add(24*time.Hour+time.Duration(i)*time.Second), false)
	}
	cases := []struct {
		name      string
		at        time.Time
		abandoned int
		live      int
	}{
		{"day 1 itself", day0.Add(time.Hour), 3, 100},
		{"day 30 (29 days later)", day0.Add(29 * 24 * time.Hour), 3, 200},
		{"last second of day 1's window", day0.Add(Window - time.Second), 3, 200},
		{"exactly 30 days later: day 1 has left", day0.Add(Window), 0, 100},
		{"day 31", day0.Add(30*24*time.Hour + 12*time.Hour), 0, 100},
		{"day 32: everything has left", day0.Add(31*24*time.Hour + time.Hour), 0, 0},
		{"before anything", day0.Add(-time.Hour), 0, 0},
	}
	for _, c := range cases {
		a, lv, r := l.Rate("c1", c.at)
		require.Equalf(t, c.abandoned, a, c.name)
		require.Equalf(t, c.live, lv, c.name)
		if lv > 0 {
			require.InDeltaf(t, float64(c.abandoned)/float64(c.live), r, 1e-12, c.name)
		} else {
			require.Zerof(t, r, c.name)
		}
	}
	a, lv, r := l.Rate("other", day0)
	require.Zero(t, a+lv)
	require.Zero(t, r)
}

func TestLedgerBoundedAndOutOfOrder(t *testing.T) {
	t.Parallel()
	l := NewLedger()
	// 60 days of one call per hour: memory stays Buckets buckets, and the
	// window holds exactly the last 30 days.
	for h := range 60 * 24 {
		require.True(t, l.Record("c", day0.Add(time.Duration(h)*time.Hour), h%10 == 0))
	}
	now := day0.Add(60*24*time.Hour - time.Hour)
	_, lv, _ := l.Rate("c", now)
	require.Equal(t, Buckets, lv)
	// A record older than the window behind the newest data is dropped.
	require.False(t, l.Record("c", day0.Add(time.Hour), true))
	// A late record still inside the window lands in its bucket.
	require.True(t, l.Record("c", now.Add(-48*time.Hour), true))
	a2, lv2, _ := l.Rate("c", now)
	require.Equal(t, Buckets+1, lv2)
	a1 := 0
	for h := 60*24 - Buckets; h < 60*24; h++ {
		if h%10 == 0 {
			a1++
		}
	}
	require.Equal(t, a1+1, a2)
	require.Equal(t, []string{"c"}, l.Campaigns())
	l.Forget("c")
	require.Empty(t, l.Campaigns())
}

func TestHeadroom(t *testing.T) {
	t.Parallel()
	cases := []struct {
		abandoned, live int64
		limit           float64
		want            int
	}{
		{0, 0, 0.03, 0},          // nothing answered: no budget at all
		{0, 100, 0.03, 3},        // (0+3)/(100+3) = 2.9 % ≤ 3 %; 4 would be 3.8 %
		{3, 100, 0.03, 0},        // exactly at the limit
		{4, 100, 0.03, 0},        // over it
		{0, 97, 0.03, 3},         // 3/100 = 3 % exactly: allowed
		{0, 1000, 0.03, 30},      // 30/1030 ≤ 3 %, 31/1031 > 3 %
		{10, 1000, 0.03, 20},     // 30/1020 ≤ 3 %
		{0, 1000, 0.025, 25},     // the target ceiling
		{0, 1000, 0, 0},          // invalid limits give nothing
		{0, 1000, 1, 0},          //
		{100, 40000, 0.03, 1134}, // (1200 − 100)/0.97 = 1134.02
	}
	for _, c := range cases {
		got := headroom(c.abandoned, c.live, c.limit)
		require.Equalf(t, c.want, got, "%d of %d at %v", c.abandoned, c.live, c.limit)
		if got > 0 {
			k := int64(got)
			require.LessOrEqual(t, float64(c.abandoned+k)/float64(c.live+k), c.limit+1e-12)
			require.Greater(t, float64(c.abandoned+k+1)/float64(c.live+k+1), c.limit)
		}
	}
	l := NewLedger()
	for i := range 100 {
		l.Record("c", day0, i == 0)
	}
	require.Equal(t, 2, l.Headroom("c", day0, 0.03))
}

func TestLedgerSnapshotRestore(t *testing.T) {
	t.Parallel()
	l := NewLedger()
	for i := range 50 {
		l.Record("b", day0.Add(time.Duration(i)*time.Hour), i%7 == 0)
		l.Record("a", day0.Add(time.Duration(i)*17*time.Minute), false)
	}
	l.Record("old", day0.Add(-40*24*time.Hour), true) // outside the window at snapshot time
	now := day0.Add(60 * time.Hour)
	snap := l.Snapshot(now)
	require.Len(t, snap.Campaigns, 2)
	require.Equal(t, "a", snap.Campaigns[0].Campaign)
	raw, err := json.Marshal(snap)
	require.NoError(t, err)
	var back LedgerSnapshot
	require.NoError(t, json.Unmarshal(raw, &back))

	l2 := NewLedger()
	require.NoError(t, l2.Restore(back))
	for _, c := range []string{"a", "b"} {
		a1, lv1, _ := l.Rate(c, now)
		a2, lv2, _ := l2.Rate(c, now)
		require.Equal(t, [2]int{a1, lv1}, [2]int{a2, lv2}, c)
	}
	require.Equal(t, snap, l2.Snapshot(now))

	bad := []struct {
		s    LedgerSnapshot
		want string
	}{
		{LedgerSnapshot{Campaigns: []CampaignSnapshot{{Campaign: "x"}, {Campaign: "x"}}}, `campaigns[1].campaign: duplicate "x"`},
		{LedgerSnapshot{Campaigns: []CampaignSnapshot{{Campaign: "x", Buckets: []BucketSnapshot{{Start: day0, Live: -1}}}}}, "campaigns[0].buckets[0].live"},
		{LedgerSnapshot{Campaigns: []CampaignSnapshot{{Campaign: "x", Buckets: []BucketSnapshot{{Start: day0, Live: 1, Abandoned: 2}}}}}, "buckets[0].abandoned"},
		{LedgerSnapshot{Campaigns: []CampaignSnapshot{{Campaign: "x", Buckets: []BucketSnapshot{{Start: day0.Add(time.Minute), Live: 1}}}}}, "buckets[0].start: must be on a 1h0m0s boundary"},
		{LedgerSnapshot{Campaigns: []CampaignSnapshot{{Campaign: "x", Buckets: []BucketSnapshot{{Start: day0, Live: 1}, {Start: day0, Live: 2}}}}}, "buckets[1].start: duplicate bucket"},
	}
	for _, b := range bad {
		require.ErrorContains(t, l2.Restore(b.s), b.want)
	}
	// A failed restore changes nothing.
	require.Equal(t, snap, l2.Snapshot(now))
}

func TestLedgerRunningSumsMatchScan(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 9))
	l := NewLedger()
	now := day0
	l.Record("c", now, false)
	for i := range 20000 {
		// Time mostly moves forward, sometimes by days, sometimes a record
		// or a read lands in the past or the future.
		switch x := rng.IntN(100); {
		case x < 70:
			now = now.Add(time.Duration(rng.IntN(600)) * time.Second)
		case x < 72:
			now = now.Add(time.Duration(rng.IntN(40*24)) * time.Hour)
		}
		at := now
		switch x := rng.IntN(100); {
		case x < 10:
			at = now.Add(-time.Duration(rng.IntN(40*24)) * time.Hour)
		case x < 15:
			at = now.Add(time.Duration(rng.IntN(48)) * time.Hour)
		}
		if rng.IntN(3) == 0 {
			l.Record("c", at, rng.IntN(20) == 0)
			continue
		}
		q := now
		if rng.IntN(10) == 0 {
			q = now.Add(-time.Duration(rng.IntN(30*24)) * time.Hour)
		}
		a, lv, _ := l.Rate("c", q)
		l.mu.Lock()
		sa, sl := l.campaigns["c"].scan(bucketOf(q))
		l.mu.Unlock()
		require.Equalf(t, [2]int64{sa, sl}, [2]int64{int64(a), int64(lv)}, "step %d", i)
	}
}
