package callerid_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
)

// newStore returns fresh counters for one test; calling it once per test
// and sharing the result between Services models several nodes.
type newStore func(t *testing.T) callerid.Counters

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// monday9 is 09:00:00 UTC on a Monday, at the start of a minute and hour.
var monday9 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func pool(name string, caps callerid.Caps, nums ...string) callerid.PoolConfig {
	p := callerid.PoolConfig{Name: name, Caps: caps}
	for _, n := range nums {
		p.Numbers = append(p.Numbers, callerid.Number{E164: n})
	}
	return p
}

func newService(t *testing.T, store callerid.Counters, clk *fakeClock, pools ...callerid.PoolConfig) *callerid.Service {
	t.Helper()
	s, err := callerid.New(store, pools, clk.Now, callerid.Options{Registerer: prometheus.NewRegistry()})
	require.NoError(t, err)
	return s
}

func pick(t *testing.T, s *callerid.Service, req callerid.Request) string {
	t.Helper()
	n, err := s.Pick(context.Background(), req)
	require.NoError(t, err)
	return n
}

func requireExhausted(t *testing.T, s *callerid.Service, req callerid.Request, reasons map[callerid.Reason]int) {
	t.Helper()
	_, err := s.Pick(context.Background(), req)
	require.ErrorIs(t, err, callerid.ErrExhausted)
	var ex *callerid.ExhaustedError
	require.ErrorAs(t, err, &ex)
	require.Equal(t, reasons, ex.Reasons, err.Error())
}

const (
	a = "+12125550101"
	b = "+16465550102"
	c = "+13055550103"
	d = "+14155550104"
)

// runSuite is the caller-ID conformance suite both Counters pass.
func runSuite(t *testing.T, newStore newStore) {
	ctx := context.Background()

	t.Run("RotatingSharedAcrossNodes", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		p := pool("p", callerid.Caps{}, a, b, c)
		n1, n2 := newService(t, store, clk, p), newService(t, store, clk, p)
		var got []string
		for i := range 6 {
			s := n1
			if i%2 == 1 {
				s = n2
			}
			got = append(got, pick(t, s, callerid.Request{Pool: "p", Strategy: callerid.Rotating}))
		}
		require.Equal(t, []string{a, b, c, a, b, c}, got)
	})

	t.Run("PerMinuteCap", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		s := newService(t, store, clk, pool("p", callerid.Caps{PerMinute: 1}, a, b))
		req := callerid.Request{Pool: "p"} // default strategy: rotating
		require.ElementsMatch(t, []string{a, b}, []string{pick(t, s, req), pick(t, s, req)})
		requireExhausted(t, s, req, map[callerid.Reason]int{callerid.ReasonPerMinute: 2})
		clk.Advance(59 * time.Second)
		requireExhausted(t, s, req, map[callerid.Reason]int{callerid.ReasonPerMinute: 2})
		clk.Advance(time.Second)
		pick(t, s, req)
	})

	t.Run("PerHourCapAndNumberOverride", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		p := pool("p", callerid.Caps{PerHour: 2}, a, b)
		p.Numbers[1].PerHour = 1 // b's own, lower cap
		s := newService(t, store, clk, p)
		req := callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: a}
		pick(t, s, req)
		clk.Advance(time.Minute)
		pick(t, s, req)
		clk.Advance(time.Minute)
		requireExhausted(t, s, req, map[callerid.Reason]int{callerid.ReasonPerHour: 1})
		breq := callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: b}
		pick(t, s, breq)
		requireExhausted(t, s, breq, map[callerid.Reason]int{callerid.ReasonPerHour: 1})
		clk.Advance(58 * time.Minute) // 10:00
		pick(t, s, req)
	})

	t.Run("DailyCapInPoolTimeZone", func(t *testing.T) {
		t.Parallel()
		ny, err := time.LoadLocation("America/New_York")
		require.NoError(t, err)
		// 22:00 in New York is 03:00 UTC the next day.
		clk := newClock(time.Date(2026, 11, 23, 22, 0, 0, 0, ny))
		store := newStore(t)
		p := pool("p", callerid.Caps{DailyCap: 2}, a)
		p.TimeZone = "America/New_York"
		s := newService(t, store, clk, p)
		req := callerid.Request{Pool: "p"}
		pick(t, s, req)
		pick(t, s, req)
		requireExhausted(t, s, req, map[callerid.Reason]int{callerid.ReasonDaily: 1})
		clk.Advance(time.Hour + 59*time.Minute) // 23:59 New York: same day
		requireExhausted(t, s, req, map[callerid.Reason]int{callerid.ReasonDaily: 1})
		st, err := s.Pools(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, st[0].Numbers[0].Today)
		require.False(t, st[0].Numbers[0].Usable)
		require.Equal(t, 0, st[0].Usable)
		clk.Advance(time.Minute) // midnight in New York
		pick(t, s, req)
	})

	t.Run("Cooldown", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		s := newService(t, store, clk, pool("p", callerid.Caps{Cooldown: 30 * time.Second}, a))
		req := callerid.Request{Pool: "p", Strategy: callerid.Random}
		pick(t, s, req)
		requireExhausted(t, s, req, map[callerid.Reason]int{callerid.ReasonCooldown: 1})
		st, err := s.Pools(ctx)
		require.NoError(t, err)
		require.NotNil(t, st[0].Numbers[0].CoolingDownUntil)
		require.True(t, st[0].Numbers[0].CoolingDownUntil.Equal(clk.Now().Add(30*time.Second)))
		clk.Advance(29 * time.Second)
		requireExhausted(t, s, req, map[callerid.Reason]int{callerid.ReasonCooldown: 1})
		clk.Advance(time.Second)
		pick(t, s, req)
	})

	t.Run("RestSkipsNumberAcrossNodes", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		p := pool("p", callerid.Caps{}, a, b)
		n1, n2 := newService(t, store, clk, p), newService(t, store, clk, p)
		until := clk.Now().Add(time.Hour)
		require.NoError(t, n1.Rest(ctx, a, until))
		require.Error(t, n1.Rest(ctx, "+19995550000", until), "rest of a number in no pool")
		for range 4 {
			require.Equal(t, b, pick(t, n2, callerid.Request{Pool: "p", Strategy: callerid.Rotating}))
		}
		requireExhausted(t, n2, callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: a},
			map[callerid.Reason]int{callerid.ReasonResting: 1})
		st, err := n2.Pools(ctx)
		require.NoError(t, err)
		require.NotNil(t, st[0].Numbers[0].RestingUntil)
		require.True(t, st[0].Numbers[0].RestingUntil.Equal(until))
		require.False(t, st[0].Numbers[0].Usable)
		require.Equal(t, 4, st[0].Numbers[1].Today)
		require.Equal(t, 1, st[0].Usable)

		require.NoError(t, n1.Rest(ctx, a, time.Time{})) // end the rest
		pick(t, n2, callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: a})
		// A rest also ends by itself.
		require.NoError(t, n1.Rest(ctx, b, clk.Now().Add(time.Minute)))
		requireExhausted(t, n2, callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: b},
			map[callerid.Reason]int{callerid.ReasonResting: 1})
		clk.Advance(time.Minute)
		pick(t, n2, callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: b})
	})

	t.Run("LocalPresenceTiers", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		tollFree := "+18005550108"
		p := pool("p", callerid.Caps{DailyCap: 1}, a, b, c, d, tollFree)
		p.Numbers[4].State = "TX"
		reg := prometheus.NewRegistry()
		s, err := callerid.New(store, []callerid.PoolConfig{p}, clk.Now, callerid.Options{Registerer: reg})
		require.NoError(t, err)
		lp := func(to, state string) callerid.Request {
			return callerid.Request{Pool: "p", Strategy: callerid.LocalPresence, To: to, ContactState: state}
		}
		require.Equal(t, a, pick(t, s, lp("+12125559999", "")), "same area code")
		require.Equal(t, b, pick(t, s, lp("+12125559998", "")), "212 used up: same state (646 is NY)")
		require.Equal(t, c, pick(t, s, lp("+18885559999", "FL")), "contact state when the area code has no state")
		require.Equal(t, tollFree, pick(t, s, lp("+15125559999", "")), "512 is TX: the number configured as TX")
		require.Equal(t, d, pick(t, s, lp("+17185559999", "")), "fallback to any number")
		requireExhausted(t, s, lp("+17185559999", ""), map[callerid.Reason]int{callerid.ReasonDaily: 5})
		n, err := testutil.GatherAndCount(reg, "cadenza_callerid_local_presence_matches_total")
		require.NoError(t, err)
		require.Equal(t, 3, n, "area_code, state and fallback series")
	})

	t.Run("StickyAcrossNodes", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		p := pool("p", callerid.Caps{}, a, b, c, d)
		n1, n2 := newService(t, store, clk, p), newService(t, store, clk, p)
		req := callerid.Request{Pool: "p", Strategy: callerid.Sticky, ContactKey: "contact-42"}
		first := pick(t, n1, req)
		for range 10 {
			require.Equal(t, first, pick(t, n2, req))
		}
		// While its number rests the contact gets another; then its own again.
		require.NoError(t, n1.Rest(ctx, first, clk.Now().Add(time.Hour)))
		second := pick(t, n2, req)
		require.NotEqual(t, first, second)
		require.Equal(t, second, pick(t, n1, req))
		require.NoError(t, n1.Rest(ctx, first, time.Time{}))
		require.Equal(t, first, pick(t, n2, req))
		// Contacts spread over the pool.
		seen := map[string]bool{}
		for i := range 50 {
			seen[pick(t, n1, callerid.Request{Pool: "p", Strategy: callerid.Sticky, ContactKey: fmt.Sprint("c", i)})] = true
		}
		require.GreaterOrEqual(t, len(seen), 3)
		// Without a contact key the destination is the key.
		byTo := callerid.Request{Pool: "p", Strategy: callerid.Sticky, To: "+13125550000"}
		require.Equal(t, pick(t, n1, byTo), pick(t, n2, byTo))
		_, err := n1.Pick(ctx, callerid.Request{Pool: "p", Strategy: callerid.Sticky})
		require.ErrorIs(t, err, callerid.ErrBadRequest)
		require.ErrorContains(t, err, "contact_key")
	})

	t.Run("FixedAndRandom", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		s := newService(t, store, clk, pool("p", callerid.Caps{DailyCap: 1}, a, b, c))
		require.Equal(t, b, pick(t, s, callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: b}))
		requireExhausted(t, s, callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: b},
			map[callerid.Reason]int{callerid.ReasonDaily: 1})
		require.Equal(t, a, pick(t, s, callerid.Request{Pool: "p", Strategy: callerid.Fixed}), "fixed without a number: the pool's first")
		_, err := s.Pick(ctx, callerid.Request{Pool: "p", Strategy: callerid.Fixed, Fixed: d})
		require.ErrorIs(t, err, callerid.ErrBadRequest)
		// Outside any pool a fixed number is used as is.
		require.Equal(t, d, pick(t, s, callerid.Request{Strategy: callerid.Fixed, Fixed: d}))
		_, err = s.Pick(ctx, callerid.Request{Strategy: callerid.Fixed, Fixed: "12345"})
		require.ErrorIs(t, err, callerid.ErrBadRequest)
		require.Equal(t, c, pick(t, s, callerid.Request{Pool: "p", Strategy: callerid.Random}))
		requireExhausted(t, s, callerid.Request{Pool: "p", Strategy: callerid.Random},
			map[callerid.Reason]int{callerid.ReasonDaily: 3})
	})

	t.Run("UnknownPoolAndStrategy", func(t *testing.T) {
		t.Parallel()
		s := newService(t, newStore(t), newClock(monday9), pool("p", callerid.Caps{}, a))
		_, err := s.Pick(ctx, callerid.Request{Pool: "nope"})
		require.ErrorIs(t, err, callerid.ErrUnknownPool)
		require.ErrorContains(t, err, `"nope"`)
		_, err = s.Pick(ctx, callerid.Request{Pool: "p", Strategy: "roundrobin"})
		require.ErrorIs(t, err, callerid.ErrBadRequest)
		require.ErrorContains(t, err, "strategy")
	})

	t.Run("CapsHoldUnderConcurrency", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		p := pool("p", callerid.Caps{DailyCap: 10}, a, b, c)
		nodes := []*callerid.Service{newService(t, store, clk, p), newService(t, store, clk, p)}
		var ok, exhausted atomic.Int64
		var wg sync.WaitGroup
		counts := make(map[string]int)
		var mu sync.Mutex
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := nodes[i%2].Pick(ctx, callerid.Request{Pool: "p", Strategy: callerid.Random})
				switch {
				case err == nil:
					ok.Add(1)
					mu.Lock()
					counts[n]++
					mu.Unlock()
				case errors.Is(err, callerid.ErrExhausted):
					exhausted.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int64(30), ok.Load())
		require.Equal(t, int64(30), exhausted.Load())
		require.Equal(t, map[string]int{a: 10, b: 10, c: 10}, counts)
	})

	t.Run("LargePoolMostlyResting", func(t *testing.T) {
		t.Parallel()
		store, clk := newStore(t), newClock(monday9)
		var nums []string
		for i := range 40 {
			nums = append(nums, fmt.Sprintf("+1312555%04d", i))
		}
		s := newService(t, store, clk, pool("p", callerid.Caps{}, nums...))
		for _, n := range nums[:39] {
			require.NoError(t, s.Rest(ctx, n, clk.Now().Add(time.Hour)))
		}
		require.Equal(t, nums[39], pick(t, s, callerid.Request{Pool: "p", Strategy: callerid.Rotating}))
		require.NoError(t, s.Rest(ctx, nums[39], clk.Now().Add(time.Hour)))
		requireExhausted(t, s, callerid.Request{Pool: "p", Strategy: callerid.Rotating},
			map[callerid.Reason]int{callerid.ReasonResting: 40})
	})
}
