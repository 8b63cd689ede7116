//go:build !race

package predictive_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/predictive"
)

// TestSimulationTradeoff runs the 30-day simulation at other pool sizes and
// settings to show the occupancy ↔ abandonment trade-off, and checks that
// even an aggressive configuration (target at the limit, full credit for
// soon-free agents, a high ratio cap) never lets a day's rolling window pass
// 3 %: the hard guard only trusts agents free now. It is left out of -race
// runs (about 2 s per scenario without the race detector, 20 s with it) and
// of -short runs.
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
		{"8 agents all day, defaults", predictive.Config{}, [][3]int{{8, 8, 8}}},
		{"40 agents all day, defaults", predictive.Config{}, [][3]int{{40, 40, 40}}},
		{"default shifts, aggressive", predictive.Config{Target: 0.03, SoonFreeWeight: 1, MaxRatio: 10}, defaultShifts},
	}
	for _, c := range cases {
		res := runSim(t, simParams{seed: 2, days: 30, shifts: c.shifts, cfg: c.cfg})
		logResult(t, c.name, res)
		require.Len(t, res.dailyRolling, 30)
		for d, r := range res.dailyRolling {
			require.LessOrEqualf(t, r, 0.03, "%s: day %d rolling abandonment", c.name, d+1)
		}
	}
}
