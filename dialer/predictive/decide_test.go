package predictive

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func defaults(t *testing.T) Config {
	t.Helper()
	c, err := Config{}.WithDefaults()
	require.NoError(t, err)
	return c
}

// bruteOverflow is E[(H − a)⁺] summed over every h, straight from the pmf.
func bruteOverflow(n int, p, a float64) float64 {
	var sum float64
	for h := 0; h <= n; h++ {
		if float64(h) > a {
			lp := logPMF(n, p, h)
			sum += (float64(h) - a) * math.Exp(lp)
		}
	}
	return sum
}

func TestOverflowMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	for range 2000 {
		n := rng.IntN(300)
		p := 0.001 + rng.Float64()*0.998
		k := rng.IntN(n + 2)
		want := bruteOverflow(n, p, float64(k))
		got := overflowInt(n, p, k)
		require.InDeltaf(t, want, got, 1e-9*(1+want), "n=%d p=%v k=%d", n, p, k)
	}
	// Fractional agents interpolate exactly between the neighbours.
	require.InDelta(t, 0.5*overflowInt(20, 0.3, 4)+0.5*overflowInt(20, 0.3, 5), overflow(20, 0.3, 4.5), 1e-12)
	// Edges.
	require.Zero(t, overflow(0, 0.5, 0))
	require.Zero(t, overflowInt(10, 0, 0))
	require.Equal(t, 7.0, overflowInt(10, 1, 3))
	require.InDelta(t, 3.0, overflowInt(10, 0.3, 0), 1e-12)
	require.Zero(t, overflowInt(10, 0.3, 10))
	// Large n with tiny tails: no NaN, no underflow trouble.
	for _, c := range []struct{ n, k int }{{5000, 10}, {5000, 4000}, {5000, 1500}} {
		o := overflowInt(c.n, 0.3, c.k)
		require.False(t, math.IsNaN(o) || math.IsInf(o, 0))
		require.InDelta(t, math.Max(0, 1500-float64(c.k)), o, 30)
	}
}

func TestOverflowRateIsMonotone(t *testing.T) {
	t.Parallel()
	// Decide's binary search relies on r(N) = O(N)/(N·p) never decreasing.
	for _, p := range []float64{0.05, 0.15, 0.35, 0.8} {
		for _, a := range []float64{0.5, 1, 3.5, 10, 40} {
			prev := 0.0
			for n := 1; n <= 200; n++ {
				r := overflow(n, p, a) / (float64(n) * p)
				require.GreaterOrEqualf(t, r, prev-1e-12, "p=%v a=%v n=%d", p, a, n)
				prev = r
			}
		}
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	c := defaults(t)
	require.InDelta(t, 0.0275, c.MaxBatchRate, 1e-15, "halfway from target to limit")
	c.MaxBatchRate = 0
	require.Equal(t, Config{Target: 0.025, Limit: 0.03, MaxRatio: 3, SoonFreeWeight: 0.5, MinHeadroom: 2, MinHumanRate: 0.05}, c)
	same, err := Config{Target: 0.03}.WithDefaults()
	require.NoError(t, err)
	require.Equal(t, 0.03, same.MaxBatchRate, "target at the limit leaves nothing above it")
	for _, b := range []struct {
		c    Config
		want string
	}{
		{Config{Limit: 1.5}, "limit"},
		{Config{Target: 0.04}, "target: must be in (0, limit=0.03]"},
		{Config{MaxRatio: 0.5}, "max_ratio"},
		{Config{SoonFreeWeight: 2}, "soon_free_weight"},
		{Config{MinHeadroom: -1}, "min_headroom"},
		{Config{MinHumanRate: -0.1}, "min_human_rate"},
		{Config{MaxBatchRate: 0.02}, "max_batch_rate: must be in [target=0.025, limit=0.03), got 0.02"},
		{Config{MaxBatchRate: 0.03}, "max_batch_rate"},
	} {
		_, err := b.c.WithDefaults()
		require.ErrorContains(t, err, b.want)
	}
}

func TestDecideTable(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	big := Input{Mode: Predictive, HumanRate: 0.2, Abandoned: 100, Live: 10000} // 1 %, lots of headroom
	with := func(f func(*Input)) Input { in := big; f(&in); return in }
	cases := []struct {
		name  string
		in    Input
		check func(t *testing.T, d Decision)
	}{
		{"progressive configured: 1:1 per available agent", with(func(in *Input) { in.Mode = Progressive; in.Available = 5 }),
			func(t *testing.T, d Decision) {
				require.Equal(t, Progressive, d.Mode)
				require.Equal(t, "configured", d.Reason)
				require.Equal(t, 5, d.Dial)
				require.Zero(t, d.Target)
			}},
		{"progressive keeps agents for predictive calls still in flight", with(func(in *Input) { in.Mode = Progressive; in.Available = 5; in.InFlight = 2 }),
			func(t *testing.T, d Decision) { require.Equal(t, 3, d.Dial) }},
		{"no budget (new campaign): no extra dials, progressive", with(func(in *Input) { in.Available = 5; in.Abandoned, in.Live = 0, 0 }),
			func(t *testing.T, d Decision) {
				require.Equal(t, Progressive, d.Mode)
				require.Equal(t, "warmup_or_budget", d.Reason)
				require.Zero(t, d.Target)
				require.Equal(t, 5, d.Dial)
			}},
		{"headroom below MinHeadroom: progressive", with(func(in *Input) { in.Available = 5; in.Abandoned, in.Live = 29, 1000 }),
			func(t *testing.T, d Decision) { require.Equal(t, Progressive, d.Mode); require.Zero(t, d.Target) }},
		{"30-day rate over the limit: no predictive dials", with(func(in *Input) { in.Available = 5; in.Abandoned, in.Live = 400, 10000 }),
			func(t *testing.T, d Decision) { require.Equal(t, Progressive, d.Mode); require.Zero(t, d.Target) }},
		{"no agents at all: nothing", with(func(in *Input) {}),
			func(t *testing.T, d Decision) {
				require.Equal(t, Predictive, d.Mode)
				require.Equal(t, "no_agents", d.Reason)
				require.Zero(t, d.Dial)
			}},
		{"predictive dials more than agents", with(func(in *Input) { in.Available = 10 }),
			func(t *testing.T, d Decision) {
				require.Equal(t, Predictive, d.Mode)
				require.Greater(t, d.Target, 10)
				require.Equal(t, d.Target, d.Dial)
				require.LessOrEqual(t, d.ExpectedAbandonRate, d.AllowedRate)
				require.InDelta(t, cfg.MaxBatchRate, d.AllowedRate, 1e-12, "1 %% window: unspent budget")
				require.InDelta(t, float64(d.Target)/10, d.Ratio, 1e-12)
			}},
		{"calls in flight are subtracted", with(func(in *Input) { in.Available = 10; in.InFlight = 7.4 }),
			func(t *testing.T, d Decision) { require.Equal(t, d.Target-7, d.Dial) }},
		{"more in flight than wanted: dial nothing", with(func(in *Input) { in.Available = 2; in.InFlight = 40 }),
			func(t *testing.T, d Decision) { require.Zero(t, d.Dial) }},
		{"cap respected at a tiny answer rate", with(func(in *Input) { in.Available = 10; in.HumanRate = 0.001 }),
			func(t *testing.T, d Decision) {
				require.Equal(t, 30, d.Target)
				require.InDelta(t, 3.0, d.Ratio, 1e-12)
			}},
		{"soon-free agents count at their weight", with(func(in *Input) { in.Available = 4; in.SoonFree = 4 }),
			func(t *testing.T, d Decision) {
				require.InDelta(t, 6.0, d.Agents, 1e-12)
				require.LessOrEqual(t, d.Target, 18)
			}},
		{"sure soon-free agents count fully", with(func(in *Input) { in.Available = 4; in.SoonFree = 4; in.SoonFreeSure = 2 }),
			func(t *testing.T, d Decision) { require.InDelta(t, 7.0, d.Agents, 1e-12) }},
		{"sure cannot exceed soon-free", with(func(in *Input) { in.Available = 4; in.SoonFree = 1; in.SoonFreeSure = 5 }),
			func(t *testing.T, d Decision) { require.InDelta(t, 5.0, d.Agents, 1e-12) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.check(t, Decide(cfg, c.in))
		})
	}
}

func TestDecideHigherAnswerRateLowersRatio(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	cfg.MaxRatio = 10 // keep the cap out of the way
	prev := math.Inf(1)
	for _, p := range []float64{0.1, 0.2, 0.35, 0.6, 0.9} {
		d := Decide(cfg, Input{Mode: Predictive, Available: 20, HumanRate: p, Abandoned: 0, Live: 10000})
		require.Equal(t, Predictive, d.Mode)
		require.Lessf(t, d.Ratio, prev, "p=%v", p)
		require.GreaterOrEqual(t, d.Target, 20)
		prev = d.Ratio
	}
}

func TestDecideThrottlesAboveTarget(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	cfg.MaxRatio = 10 // keep the cap out of the way
	in := Input{Mode: Predictive, Available: 20, HumanRate: 0.2, Live: 100000}
	var targets []int
	for _, ab := range []int{1000, 2500, 2750, 2900} { // 1 %, 2.5 %, 2.75 %, 2.9 %
		in.Abandoned = ab
		d := Decide(cfg, in)
		require.Equal(t, Predictive, d.Mode)
		targets = append(targets, d.Target)
		require.LessOrEqual(t, d.ExpectedAbandonRate, d.AllowedRate+1e-12)
	}
	require.Greater(t, targets[0], targets[1], "well under target: the unspent budget allows more")
	require.Greater(t, targets[1], targets[2])
	require.Greater(t, targets[2], targets[3])
	require.GreaterOrEqual(t, targets[3], 20, "never below one call per free agent")
	in.Abandoned = 2750
	require.InDelta(t, 0.025*0.25/0.5, Decide(cfg, in).AllowedRate, 1e-12)
}

func TestAllowedRate(t *testing.T) {
	t.Parallel()
	cfg := defaults(t) // target 2.5 %, limit 3 %, max batch 2.75 %
	for _, c := range []struct{ window, want float64 }{
		{0, 0.0275},
		{0.015, 0.0275},
		{0.02, 0.0275},    // target − (limit − target): full unspent-budget allowance
		{0.0225, 0.02625}, // halfway back to target
		{0.025, 0.025},    // at target
		{0.0275, 0.0125},  // halfway to the limit
		{0.029, 0.005},    // close to the limit
		{0.03, 0},         // at the limit
		{0.05, 0},         // above it
	} {
		require.InDeltaf(t, c.want, allowedRate(cfg, c.window), 1e-12, "window %v", c.window)
	}
	// Never above MaxBatchRate (< Limit), never negative, non-increasing.
	prev := math.Inf(1)
	for r := 0.0; r <= 0.04; r += 0.0001 {
		a := allowedRate(cfg, r)
		require.LessOrEqual(t, a, cfg.MaxBatchRate)
		require.GreaterOrEqual(t, a, 0.0)
		require.LessOrEqual(t, a, prev+1e-15)
		prev = a
	}
	// MaxBatchRate = Target restores a flat ceiling below target.
	flat := cfg
	flat.MaxBatchRate = flat.Target
	require.Equal(t, flat.Target, allowedRate(flat, 0.01))
	// Target = Limit: no band on either side.
	edge, err := Config{Target: 0.03}.WithDefaults()
	require.NoError(t, err)
	require.Equal(t, 0.03, allowedRate(edge, 0.01))
	require.Zero(t, allowedRate(edge, 0.03))
}

func TestDecideSpendsUnspentBudget(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	cfg.MaxRatio = 10 // keep the cap out of the way
	in := Input{Mode: Predictive, Available: 20, SoonFree: 4, HumanRate: 0.2, Live: 100000}
	in.Abandoned = 1500 // 1.5 %: half the 30-day budget unspent
	low := Decide(cfg, in)
	in.Abandoned = 2500 // at target
	at := Decide(cfg, in)
	require.InDelta(t, cfg.MaxBatchRate, low.AllowedRate, 1e-12)
	require.InDelta(t, cfg.Target, at.AllowedRate, 1e-12)
	require.Greater(t, low.Target, at.Target)
	require.LessOrEqual(t, low.ExpectedAbandonRate, cfg.MaxBatchRate)
	require.Greater(t, low.ExpectedAbandonRate, cfg.Target, "the extra calls are really planned above target")
	require.Equal(t, "ok", low.Reason)
	// Without the extra allowance the decision is the one at target.
	cfg.MaxBatchRate = cfg.Target
	in.Abandoned = 1500
	require.Equal(t, at.Target, Decide(cfg, in).Target)
}

func TestDecideGuardUsesUpperBound(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	// 5 abandons fit under 3 %, 2 kept spare: the guard binds. A higher
	// upper bound of the answer rate must give fewer calls, the target
	// check (on the estimate) being far from binding.
	in := Input{Mode: Predictive, Available: 3, SoonFree: 40, HumanRate: 0.2, Abandoned: 25, Live: 1000}
	base := Decide(cfg, in)
	in.HumanRateHigh = 0.1 // below the estimate: reads as the estimate
	require.Equal(t, base, Decide(cfg, in))
	in.HumanRateHigh = 0.3
	high := Decide(cfg, in)
	require.Less(t, high.Target, base.Target)
	w := overflow(high.Target, 0.3, 3)
	require.LessOrEqual(t, w+3*math.Sqrt(w), 3.0)
	w = overflow(high.Target+1, 0.3, 3)
	require.Greater(t, w+3*math.Sqrt(w), 3.0, "the guard is what binds")
}

func TestDecideHardGuardIgnoresSoonFree(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	// 5 abandons fit under 3 %; 2 are kept spare. Lots of soon-free agents
	// must not buy predictive dials the agents free now cannot cover.
	in := Input{Mode: Predictive, Available: 1, SoonFree: 40, HumanRate: 0.3, Abandoned: 25, Live: 1000}
	require.Equal(t, 5, headroom(25, 1000, 0.03))
	d := Decide(cfg, in)
	require.Equal(t, Predictive, d.Mode)
	w := overflow(d.Target, 0.3, 1)
	require.LessOrEqual(t, w+3*math.Sqrt(w), 3.0)
	require.Greater(t, overflow(d.Target+1, 0.3, 1)+3*math.Sqrt(overflow(d.Target+1, 0.3, 1)), 3.0, "the guard is what binds")
	in.Abandoned = 0
	in.Live = 100000
	require.Greater(t, Decide(cfg, in).Target, 3*d.Target, "with budget, soon-free agents do count")
}

func TestDecideCalibration(t *testing.T) {
	t.Parallel()
	cfg := defaults(t)
	cfg.MaxRatio = 10 // keep the cap out of the way
	in := Input{Mode: Predictive, Available: 20, HumanRate: 0.2, Live: 100000}
	plain := Decide(cfg, in)
	in.Calibration = 1
	require.Equal(t, plain, Decide(cfg, in), "0 (unset) means 1")
	in.Calibration = 0.5
	looser := Decide(cfg, in)
	in.Calibration = 3
	stricter := Decide(cfg, in)
	require.Greater(t, looser.Target, plain.Target)
	require.Less(t, stricter.Target, plain.Target)
}

func BenchmarkDecide(b *testing.B) {
	cfg, _ := Config{}.WithDefaults()
	in := Input{Mode: Predictive, Available: 3, SoonFree: 6, InFlight: 20, HumanRate: 0.2, Abandoned: 100, Live: 20000}
	b.ReportAllocs()
	for b.Loop() {
		Decide(cfg, in)
	}
}
