package sip

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the driver's Prometheus series. Labels are bounded: the trunk
// name (from config), the response class (1xx..6xx) and the RTP direction;
// never numbers or call IDs.
type metrics struct {
	invites   *prometheus.CounterVec   // trunk
	responses *prometheus.CounterVec   // trunk, class
	setup     *prometheus.HistogramVec // trunk: INVITE → final response
	ring      *prometheus.HistogramVec // trunk: INVITE → first 180/183
	active    *prometheus.GaugeVec     // trunk
	rtp       *prometheus.CounterVec   // trunk, direction
	rtpLost   *prometheus.CounterVec   // trunk
	rtpLate   *prometheus.CounterVec   // trunk
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	latency := []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60}
	m := &metrics{
		invites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadenza_sip_invites_sent_total", Help: "INVITEs sent, by trunk (auth retries included).",
		}, []string{"trunk"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadenza_sip_final_responses_total", Help: "Final responses to our INVITEs, by trunk and status class.",
		}, []string{"trunk", "class"}),
		setup: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cadenza_sip_setup_seconds", Help: "Time from INVITE to its final response.", Buckets: latency,
		}, []string{"trunk"}),
		ring: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cadenza_sip_ring_latency_seconds", Help: "Time from INVITE to the first 180/183.", Buckets: latency,
		}, []string{"trunk"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cadenza_sip_active_legs", Help: "Legs in progress (INVITE sent, not yet over), by trunk.",
		}, []string{"trunk"}),
		rtp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadenza_rtp_packets_total", Help: "RTP packets, by trunk and direction (in, out).",
		}, []string{"trunk", "direction"}),
		rtpLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadenza_rtp_lost_packets_total", Help: "RTP packets declared lost by the reorder buffer.",
		}, []string{"trunk"}),
		rtpLate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cadenza_rtp_late_packets_total", Help: "RTP packets that arrived too late (or twice) and were dropped.",
		}, []string{"trunk"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.invites, m.responses, m.setup, m.ring, m.active, m.rtp, m.rtpLost, m.rtpLate} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register sip metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) counters(trunk string) mediaCounters {
	return mediaCounters{
		in:   m.rtp.WithLabelValues(trunk, "in"),
		out:  m.rtp.WithLabelValues(trunk, "out"),
		lost: m.rtpLost.WithLabelValues(trunk),
		late: m.rtpLate.WithLabelValues(trunk),
	}
}

func statusClass(code int) string {
	switch {
	case code >= 100 && code < 700:
		return string(rune('0'+code/100)) + "xx"
	}
	return "other"
}
