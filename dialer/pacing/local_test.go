package pacing_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/dialer/pacing"
	"github.com/cadenza-dialer/cadenza/dialer/pacing/pacingtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestLocalConformance(t *testing.T) {
	t.Parallel()
	pacingtest.Run(t, func(t *testing.T, limits map[string]pacing.Limits, nodes int) []pacing.Pacer {
		p, err := pacing.NewLocal(pacing.SystemClock{}, limits, pacing.LocalOptions{Registerer: prometheus.NewRegistry()})
		require.NoError(t, err)
		ps := make([]pacing.Pacer, nodes)
		for i := range ps {
			ps[i] = p // one process is one node
		}
		return ps
	})
}

// fakeClock is a manual clock: After fires when Advance passes its deadline.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves time on and fires due timers.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// Waiters is how many timers are pending.
func (c *fakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond)
}

func TestLocalSleepsExactlyTheWait(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	reg := prometheus.NewRegistry()
	p, err := pacing.NewLocal(clk, map[string]pacing.Limits{"k": {CPS: 10, Burst: 1}}, pacing.LocalOptions{Registerer: reg})
	require.NoError(t, err)
	ctx := context.Background()
	s, err := p.Acquire(ctx, "k")
	require.NoError(t, err)
	s.Release()

	got := make(chan pacing.Slot, 1)
	go func() {
		s, err := p.Acquire(ctx, "k")
		if err == nil {
			got <- s
		}
	}()
	waitFor(t, func() bool { return clk.Waiters() == 1 })
	clk.Advance(99 * time.Millisecond)
	require.Equal(t, 1, clk.Waiters(), "woke before the interval")
	select {
	case <-got:
		t.Fatal("granted before the interval")
	default:
	}
	clk.Advance(time.Millisecond)
	s = <-got
	require.Equal(t, clk.Now(), s.(pacing.TimedSlot).GrantedAt())
	s.Release()
	// The wait histogram saw one call that waited 0 and one that waited 100 ms.
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP cadenza_pacing_wait_seconds Time Acquire waited before a call was allowed to start.
# TYPE cadenza_pacing_wait_seconds histogram
cadenza_pacing_wait_seconds_bucket{key="k",le="0.0005"} 1
cadenza_pacing_wait_seconds_bucket{key="k",le="0.001"} 1
cadenza_pacing_wait_seconds_bucket{key="k",le="0.005"} 1
cadenza_pacing_wait_seconds_bucket{key="k",le="0.01"} 1
cadenza_pacing_wait_seconds_bucket{key="k",le="0.05"} 1
cadenza_pacing_wait_seconds_bucket{key="k",le="0.1"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="0.25"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="0.5"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="1"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="2.5"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="5"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="10"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="30"} 2
cadenza_pacing_wait_seconds_bucket{key="k",le="+Inf"} 2
cadenza_pacing_wait_seconds_sum{key="k"} 0.1
cadenza_pacing_wait_seconds_count{key="k"} 2
`), "cadenza_pacing_wait_seconds"))
}

func TestLocalDecisions(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	reg := prometheus.NewRegistry()
	p, err := pacing.NewLocal(clk, map[string]pacing.Limits{
		"k":              {CPS: 2, Burst: 3, MaxChannels: 2},
		pacing.GlobalKey: {CPS: 100},
	}, pacing.LocalOptions{Registerer: reg})
	require.NoError(t, err)
	ctx := context.Background()

	d1, err := p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.NotNil(t, d1.Slot)
	// The global key has burst 1 at 100/s: the next decision waits 10 ms.
	d, err := p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.Nil(t, d.Slot)
	require.Equal(t, pacing.ReasonCPS, d.Reason)
	require.Equal(t, 10*time.Millisecond, d.Wait)
	clk.Advance(10 * time.Millisecond)
	d2, err := p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.NotNil(t, d2.Slot)
	require.Equal(t, 2, p.InUse("k"))
	require.Equal(t, 2.0, testutil.ToFloat64(activeSlots(t, reg, "k")))

	clk.Advance(10 * time.Millisecond)
	d, err = p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.Nil(t, d.Slot)
	require.Equal(t, pacing.ReasonChannels, d.Reason)
	d1.Slot.Release()
	d3, err := p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.NotNil(t, d3.Slot)
	// Burst 3 used at 0, 10 ms, 20 ms: GCRA at 2/s with tolerance 1 s lets
	// the fourth in at 500 ms, but the 1-second window (cap 3) only at 1 s:
	// the window binds.
	d2.Slot.Release()
	d, err = p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, pacing.ReasonWindow, d.Reason)
	require.Equal(t, 980*time.Millisecond, d.Wait)
	clk.Advance(980 * time.Millisecond)
	d4, err := p.TryAcquire(ctx, "k")
	require.NoError(t, err)
	require.NotNil(t, d4.Slot)
	d4.Slot.Release()
	d3.Slot.Release()
	require.Equal(t, 0, p.InUse("k"))
	require.Equal(t, 0.0, testutil.ToFloat64(activeSlots(t, reg, "k")))
}

func activeSlots(t *testing.T, reg *prometheus.Registry, key string) prometheus.Collector {
	t.Helper()
	return collectorFor(t, reg, "cadenza_pacing_active_slots", key)
}

// collectorFor wraps one series of a gathered family for testutil.
func collectorFor(t *testing.T, reg *prometheus.Registry, name, key string) prometheus.Collector {
	t.Helper()
	return prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == "key" && lp.GetValue() == key {
						ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "h", nil, nil), prometheus.GaugeValue, m.GetGauge().GetValue())
					}
				}
			}
		}
	})
}

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		l    pacing.Limits
		err  string
	}{
		{"zero is unlimited", pacing.Limits{}, ""},
		{"ok", pacing.Limits{CPS: 2.5, Burst: 4, MaxChannels: 10}, ""},
		{"negative cps", pacing.Limits{CPS: -1}, "cps"},
		{"huge cps", pacing.Limits{CPS: 2e6}, "cps"},
		{"negative burst", pacing.Limits{CPS: 1, Burst: -1}, "burst"},
		{"negative channels", pacing.Limits{MaxChannels: -1}, "max_channels"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.l.Validate()
			if c.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.err)
		})
	}
	_, err := pacing.NewLocal(nil, map[string]pacing.Limits{"t1": {CPS: -3}}, pacing.LocalOptions{})
	require.ErrorContains(t, err, `limits["t1"].cps`)
}

func TestLimitsWindowCap(t *testing.T) {
	t.Parallel()
	cases := []struct {
		l        pacing.Limits
		cap      int
		interval time.Duration
	}{
		{pacing.Limits{}, 0, 0},
		{pacing.Limits{CPS: 50, Burst: 5}, 50, 20 * time.Millisecond},
		{pacing.Limits{CPS: 2.5}, 3, 400 * time.Millisecond},
		{pacing.Limits{CPS: 1, Burst: 5}, 5, time.Second},
		{pacing.Limits{CPS: 3}, 3, 333334 * time.Microsecond},
		{pacing.Limits{CPS: 0.5}, 1, 2 * time.Second},
	}
	for _, c := range cases {
		require.Equal(t, c.cap, c.l.WindowCap(), "%+v", c.l)
		require.Equal(t, c.interval, c.l.Interval(), "%+v", c.l)
	}
}

// TestLocalQueuesWaiters checks that waiters on one key queue behind one
// head instead of all re-deciding at every wake-up (a thundering herd).
func TestLocalQueuesWaiters(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	reg := prometheus.NewRegistry()
	p, err := pacing.NewLocal(clk, map[string]pacing.Limits{"k": {CPS: 10, Burst: 1}}, pacing.LocalOptions{Registerer: reg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	granted := make(chan struct{}, 20)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s, err := p.Acquire(ctx, "k"); err == nil {
				s.Release()
				granted <- struct{}{}
			}
		}()
	}
	<-granted // the burst of 1 goes at once
	for range 10 {
		waitFor(t, func() bool { return clk.Waiters() == 1 })
		clk.Advance(100 * time.Millisecond)
		<-granted
	}
	cancel()
	wg.Wait()
	refusals := sumCounter(t, reg, "cadenza_pacing_refusals_total")
	require.LessOrEqual(t, refusals, 2.0*11+2, "waiters re-decided in a herd")
}

func sumCounter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
