package dialer

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// otherTrunk labels calls for a trunk the dialer does not know, so a bad
// request can never grow a label set. Labels are trunk names (configured),
// dispositions, verdicts and small enums; never numbers or call IDs.
const otherTrunk = "_unknown"

// metrics are the dialer's Prometheus series.
type metrics struct {
	trunks    map[string]bool
	started   *prometheus.CounterVec   // trunk
	ended     *prometheus.CounterVec   // trunk, disposition
	notPlaced *prometheus.CounterVec   // trunk, reason
	active    *prometheus.GaugeVec     // trunk
	setup     *prometheus.HistogramVec // trunk: queued → INVITE sent (pacing, caller ID)
	ring      *prometheus.HistogramVec // trunk: INVITE sent → first ring (post-dial delay)
	answer    *prometheus.HistogramVec // trunk: INVITE sent → answer
	verdicts  *prometheus.CounterVec   // verdict
	decision  *prometheus.HistogramVec // verdict: audio time from answer to verdict
	voicemail *prometheus.CounterVec   // trunk, trigger, result
}

func newMetrics(reg prometheus.Registerer, trunks []string) (*metrics, error) {
	m := &metrics{
		trunks: make(map[string]bool, len(trunks)),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "calls_started_total",
			Help: "Calls placed (INVITE sent or originate accepted), by trunk.",
		}, []string{"trunk"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "calls_ended_total",
			Help: "Placed calls that ended, by trunk and system disposition.",
		}, []string{"trunk", "disposition"}),
		notPlaced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "calls_not_placed_total",
			Help: "Call requests that never went out, by trunk and reason (pacing, caller_id, originate, invalid, stopping, cancelled).",
		}, []string{"trunk", "reason"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "active_calls",
			Help: "Calls in progress, by trunk.",
		}, []string{"trunk"}),
		setup: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "setup_seconds",
			Help:    "Time from the call request to the INVITE (pacing wait, caller ID, originate).",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"trunk"}),
		ring: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "ring_seconds",
			Help:    "Post-dial delay: from the INVITE to the first ringing or early media.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 3, 5, 8, 13, 20},
		}, []string{"trunk"}),
		answer: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "answer_seconds",
			Help:    "From the INVITE to the answer, for answered calls.",
			Buckets: []float64{.5, 1, 2, 4, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"trunk"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "amd_verdicts_total",
			Help: "Answering-machine detector verdicts.",
		}, []string{"verdict"}),
		decision: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "amd_decision_seconds",
			Help:    "Audio time from answer to the AMD verdict.",
			Buckets: []float64{.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10},
		}, []string{"verdict"}),
		voicemail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "dialer", Name: "voicemail_drops_total",
			Help: "Voicemail messages started, by trunk, trigger (beep, silence, timeout) and result (complete, partial, not_played).",
		}, []string{"trunk", "trigger", "result"}),
	}
	for _, t := range trunks {
		m.trunks[t] = true
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.started, m.ended, m.notPlaced, m.active, m.setup, m.ring, m.answer, m.verdicts, m.decision, m.voicemail} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("a dialer's metrics are already registered with this registerer")
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) trunkLabel(trunk string) string {
	if m.trunks[trunk] {
		return trunk
	}
	return otherTrunk
}

func (m *metrics) observeVerdict(verdict string, decision time.Duration) {
	if !validVerdict(verdict) {
		verdict = "other"
	}
	m.verdicts.WithLabelValues(verdict).Inc()
	m.decision.WithLabelValues(verdict).Observe(decision.Seconds())
}

func validVerdict(v string) bool {
	switch v {
	case "human", "machine", "silence", "unsure", "intercept":
		return true
	}
	return false
}

// observeEnd records a placed call's end and its latencies.
func (m *metrics) observeEnd(o Outcome) {
	trunk := m.trunkLabel(o.Trunk)
	disp := string(o.Disposition)
	if !o.Disposition.Valid() {
		disp = string(Unknown)
	}
	m.ended.WithLabelValues(trunk, disp).Inc()
	t := o.Timings
	if !t.InviteSent.IsZero() {
		m.setup.WithLabelValues(trunk).Observe(t.InviteSent.Sub(t.Queued).Seconds())
		if !t.FirstRing.IsZero() {
			m.ring.WithLabelValues(trunk).Observe(t.FirstRing.Sub(t.InviteSent).Seconds())
		}
		if !t.Answered.IsZero() {
			m.answer.WithLabelValues(trunk).Observe(t.Answered.Sub(t.InviteSent).Seconds())
		}
	}
}
