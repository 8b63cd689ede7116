package predictive

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pacer's gauges, labelled by campaign (a cadence ID; see
// NewPacer on why that label is bounded). A nil *metrics records nothing.
type metrics struct {
	rate     *prometheus.GaugeVec
	headroom *prometheus.GaugeVec
	ratio    *prometheus.GaugeVec
	target   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	g := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cadenza", Subsystem: "predictive", Name: name, Help: help,
		}, []string{"campaign"})
	}
	m := &metrics{
		rate:     g("abandon_rate", "Abandoned ÷ live-answered calls over the rolling 30 days."),
		headroom: g("abandon_headroom", "Abandons still allowed over the rolling 30 days before the legal limit."),
		ratio:    g("dial_ratio", "Predictive calls in flight targeted per effective agent (0 when progressive)."),
		target:   g("target_in_flight", "Predictive calls the pacer wants in flight."),
	}
	for _, c := range []prometheus.Collector{m.rate, m.headroom, m.ratio, m.target} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register predictive metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observeLedger(campaign string, rate float64, headroom int) {
	if m == nil {
		return
	}
	m.rate.WithLabelValues(campaign).Set(rate)
	m.headroom.WithLabelValues(campaign).Set(float64(headroom))
}

func (m *metrics) observeDecision(campaign string, d Decision) {
	if m == nil {
		return
	}
	m.ratio.WithLabelValues(campaign).Set(d.Ratio)
	m.target.WithLabelValues(campaign).Set(float64(d.Target))
}

func (m *metrics) forget(campaign string) {
	if m == nil {
		return
	}
	for _, v := range []*prometheus.GaugeVec{m.rate, m.headroom, m.ratio, m.target} {
		v.DeleteLabelValues(campaign)
	}
}
