package ari

import "github.com/prometheus/client_golang/prometheus"

// metrics are the driver's Prometheus series. Labels are bounded: trunk
// names and dispositions, never numbers or channel ids.
type metrics struct {
	originates *prometheus.CounterVec // by trunk
	ended      *prometheus.CounterVec // by trunk, disposition ("answered" for answered legs)
	active     *prometheus.GaugeVec   // by trunk
	events     prometheus.Counter
	badEvents  prometheus.Counter
	reconnects prometheus.Counter
	connected  prometheus.Gauge
	rtpIn      prometheus.Counter
	rtpOut     prometheus.Counter
	rtpLost    prometheus.Counter
	rtpLate    prometheus.Counter
	rtpBad     prometheus.Counter
	connects   *prometheus.CounterVec // by result: connected, failed
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		originates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cadenza_ari_originates_total", Help: "Calls originated through ARI."}, []string{"trunk"}),
		ended:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cadenza_ari_legs_ended_total", Help: "ARI legs ended, by result."}, []string{"trunk", "result"}),
		active:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cadenza_ari_active_legs", Help: "ARI legs in progress."}, []string{"trunk"}),
		events:     prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_events_total", Help: "ARI events received."}),
		badEvents:  prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_bad_events_total", Help: "ARI events that could not be decoded (ignored)."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_reconnects_total", Help: "Events WebSocket reconnections."}),
		connected:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "cadenza_ari_connected", Help: "1 while the events WebSocket is up."}),
		rtpIn:      prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_rtp_packets_received_total", Help: "RTP packets received from externalMedia."}),
		rtpOut:     prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_rtp_packets_sent_total", Help: "RTP packets sent to externalMedia."}),
		rtpLost:    prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_rtp_packets_lost_total", Help: "RTP packets missing by sequence number."}),
		rtpLate:    prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_rtp_packets_late_total", Help: "RTP packets dropped as duplicate or late."}),
		rtpBad:     prometheus.NewCounter(prometheus.CounterOpts{Name: "cadenza_ari_rtp_packets_bad_total", Help: "RTP packets that were malformed or not PCMU."}),
		connects:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cadenza_ari_connects_total", Help: "Connects of an answered call to an agent, by result."}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.originates, m.ended, m.active, m.events, m.badEvents, m.reconnects, m.connected, m.rtpIn, m.rtpOut, m.rtpLost, m.rtpLate, m.rtpBad, m.connects} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
