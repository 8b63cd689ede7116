package predictive

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func newPacer(t *testing.T, reg prometheus.Registerer) *Pacer {
	t.Helper()
	p, err := NewPacer(Config{}, Estimates{}, NewLedger(), reg)
	require.NoError(t, err)
	return p
}

func TestNewPacerValidation(t *testing.T) {
	t.Parallel()
	_, err := NewPacer(Config{}, Estimates{}, nil, nil)
	require.ErrorContains(t, err, "ledger: must not be nil")
	_, err = NewPacer(Config{Target: 0.5}, Estimates{}, NewLedger(), nil)
	require.ErrorContains(t, err, "target")
	_, err = NewPacer(Config{}, Estimates{Alpha: 3}, NewLedger(), nil)
	require.ErrorContains(t, err, "alpha")
	_, err = NewPacer(Config{}, Estimates{InitialHumanRate: 2}, NewLedger(), nil)
	require.ErrorContains(t, err, "initial_human_rate")
	reg := prometheus.NewRegistry()
	newPacer(t, reg)
	_, err = NewPacer(Config{}, Estimates{}, NewLedger(), reg)
	require.ErrorContains(t, err, "register predictive metrics")
}

func TestPacerLearnsRates(t *testing.T) {
	t.Parallel()
	p := newPacer(t, nil)
	est, cautious := p.HumanRate("c")
	require.Equal(t, 0.3, est, "initial guess")
	require.Greater(t, cautious, est)
	require.Equal(t, 15*time.Second, p.Window("c"))
	// 20 % people, answered after 10 s; 30 % machines after 20 s; rest ring out.
	for i := range 2000 {
		switch i % 10 {
		case 0, 1:
			p.ObserveDial("c", DialOutcome{Human: true, Answered: true, TimeToAnswer: 10 * time.Second})
		case 2, 3, 4:
			p.ObserveDial("c", DialOutcome{Answered: true, TimeToAnswer: 20 * time.Second})
		default:
			p.ObserveDial("c", DialOutcome{})
		}
	}
	est, cautious = p.HumanRate("c")
	require.InDelta(t, 0.2, est, 0.02)
	require.InDelta(t, 2*math.Sqrt(est*(1-est)/199), cautious-est, 1e-9) // cautious = est + Z·σ, Z = 2, n capped at 2/α − 1 (σ of the EWMA)
	require.InDelta(t, 16, p.Window("c").Seconds(), 1)                   // 2 of 5 answers at 10 s, 3 at 20 s
	other, _ := p.HumanRate("d")
	require.Equal(t, 0.3, other, "estimates are per campaign")
}

func TestInFlightEquivalent(t *testing.T) {
	t.Parallel()
	p := newPacer(t, nil)
	for i := range 1000 {
		switch i % 10 {
		case 0, 1:
			p.ObserveDial("c", DialOutcome{Human: true, Answered: true, TimeToAnswer: time.Duration(5+i%20) * time.Second})
		case 2, 3, 4:
			p.ObserveDial("c", DialOutcome{Answered: true, TimeToAnswer: time.Duration(5+i%20) * time.Second})
		default:
			p.ObserveDial("c", DialOutcome{})
		}
	}
	now := day0
	p.mu.Lock()
	e := p.campaign("c")
	fresh := p.inFlightEquivalent(e, now, []time.Time{now, now, now})
	mid := p.inFlightEquivalent(e, now, []time.Time{now.Add(-15 * time.Second)})
	old := p.inFlightEquivalent(e, now, []time.Time{now.Add(-40 * time.Second)})
	p.mu.Unlock()
	require.InDelta(t, 3.0, fresh, 1e-9, "a new call is one fresh dial")
	require.Less(t, mid, 0.9)
	require.Greater(t, mid, 0.1)
	require.Zero(t, old, "a call that outlived every answer seen will not reach anyone")

	// Decide subtracts the equivalent, not the raw count: 10 old calls cost nothing.
	for range 200 {
		p.RecordLive("c", now, false)
	}
	ag := Agents{Available: 5}
	none := p.Decide("c", now, Predictive, ag, nil)
	olds := make([]time.Time, 10)
	for i := range olds {
		olds[i] = now.Add(-time.Minute)
	}
	withOld := p.Decide("c", now, Predictive, ag, olds)
	require.Equal(t, none.Dial, withOld.Dial)
	fresh10 := make([]time.Time, 10)
	for i := range fresh10 {
		fresh10[i] = now
	}
	require.Equal(t, max(0, none.Target-10), p.Decide("c", now, Predictive, ag, fresh10).Dial)
}

func TestCalibrationFollowsAbandons(t *testing.T) {
	t.Parallel()
	p := newPacer(t, nil)
	p.mu.Lock()
	e := p.campaign("c")
	require.Equal(t, 1.0, calibration(e))
	e.lastPred = 0.01
	p.mu.Unlock()
	// The model said 1 %, reality is 5 %: calibration rises towards 5.
	for i := range 5000 {
		p.RecordLive("c", day0, i%20 == 0)
	}
	p.mu.Lock()
	c := calibration(e)
	p.mu.Unlock()
	require.InDelta(t, (0.05+calibrationPrior)/(0.01+calibrationPrior), c, 0.3)
	// Reality far below the model loosens it, down to minCalibration.
	p.mu.Lock()
	e.lastPred = 0.05
	p.mu.Unlock()
	for range 10000 {
		p.RecordLive("c", day0, false)
	}
	p.mu.Lock()
	c = calibration(e)
	p.mu.Unlock()
	require.InDelta(t, minCalibration, c, 0.05)
}

func TestPacerMetricsAndForget(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	p := newPacer(t, reg)
	now := day0
	for i := range 1000 {
		p.RecordLive("cad-1", now, i < 10)
	}
	d := p.Decide("cad-1", now, Predictive, Agents{Available: 10}, nil)
	require.Equal(t, Predictive, d.Mode)
	want := `
# HELP cadenza_predictive_abandon_rate Abandoned ÷ live-answered calls over the rolling 30 days.
# TYPE cadenza_predictive_abandon_rate gauge
cadenza_predictive_abandon_rate{campaign="cad-1"} 0.01
# HELP cadenza_predictive_abandon_headroom Abandons still allowed over the rolling 30 days before the legal limit.
# TYPE cadenza_predictive_abandon_headroom gauge
cadenza_predictive_abandon_headroom{campaign="cad-1"} 20
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"cadenza_predictive_abandon_rate", "cadenza_predictive_abandon_headroom"))
	n, err := testutil.GatherAndCount(reg, "cadenza_predictive_dial_ratio", "cadenza_predictive_target_in_flight")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, float64(d.Target), testutil.ToFloat64(p.m.target.WithLabelValues("cad-1")))

	p.Forget("cad-1")
	n, err = testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Zero(t, n)
	_, lv, _ := p.Ledger().Rate("cad-1", now)
	require.Zero(t, lv)
	require.Equal(t, 0.025, p.Config().Target)
}

// BenchmarkPacerDecide is one decision as the dialer makes it: estimates
// learned, 40 calls in flight at various ages, a ledger with a month of
// history.
func BenchmarkPacerDecide(b *testing.B) {
	p, err := NewPacer(Config{}, Estimates{}, NewLedger(), nil)
	require.NoError(b, err)
	for i := range 2000 {
		switch i % 10 {
		case 0, 1:
			p.ObserveDial("c", DialOutcome{Human: true, Answered: true, TimeToAnswer: time.Duration(5+i%20) * time.Second})
		case 2, 3, 4:
			p.ObserveDial("c", DialOutcome{Answered: true, TimeToAnswer: time.Duration(5+i%20) * time.Second})
		default:
			p.ObserveDial("c", DialOutcome{})
		}
	}
	now := day0.Add(Window)
	for i := range 20000 {
		p.RecordLive("c", now.Add(-time.Duration(i)*2*time.Minute), i%50 == 0)
	}
	inFlight := make([]time.Time, 40)
	for i := range inFlight {
		inFlight[i] = now.Add(-time.Duration(i%25) * time.Second)
	}
	ag := Agents{Available: 3, SoonFree: 6, SoonFreeSure: 2}
	b.ReportAllocs()
	for b.Loop() {
		p.Decide("c", now, Predictive, ag, inFlight)
	}
}
