//go:build !race

package predictive_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/predictive"
)

// TestSimulationTradeoff runs the 30-day simulation with other settings to
// show the occupancy ↔ abandonment trade-off, and checks that even an
// aggressive configuration (target at the limit, full credit for soon-free
// agents, a high ratio cap) never lets a day's rolling window pass 3 %: the
// hard guard only trusts agents free now. "no unspent budget" is the pacer
// before the budget controller (it never plans above Target). It is left
// out of -race runs (a few seconds per scenario without the race detector,
// ten times that with it) and of -short runs.
func TestSimulationTradeoff(t *testing.T) {
	if testing.Short() {
		t.Skip("long simulation")
	}
	t.Parallel()
	cases := []struct {
		name   string
		cfg    predictive.Config
		shifts [][3]int
	}{
		{"default shifts, no unspent budget", predictive.Config{MaxBatchRate: 0.025}, defaultShifts},
		{"default shifts, aggressive", predictive.Config{Target: 0.03, SoonFreeWeight: 1, MaxRatio: 10}, defaultShifts},
	}
	for _, c := range cases {
		res := runSim(t, simParams{seed: 2, days: 30, shifts: c.shifts, cfg: c.cfg})
		logResult(t, c.name, res)
		require.Len(t, res.dailyRolling, 30)
		for d, r := range res.dailyRolling {
			require.LessOrEqualf(t, r, 0.03, "%s: day %d rolling abandonment", c.name, d+1)
		}
		require.LessOrEqual(t, res.maxAnyTime, 0.03, "%s: 30-day rate after any live answer", c.name)
	}
}
