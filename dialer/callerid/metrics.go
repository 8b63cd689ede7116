package callerid

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the caller-ID collectors. Labels are bounded: pool is a
// configured pool name ("" for a fixed number outside pools), strategy one
// of Strategies, match one of three tiers. Never a phone number.
type metrics struct {
	picks       *prometheus.CounterVec
	exhausted   *prometheus.CounterVec
	presence    *prometheus.CounterVec
	storeErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		picks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "callerid", Name: "picks_total",
			Help: "Caller IDs picked, by pool and strategy.",
		}, []string{"pool", "strategy"}),
		exhausted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "callerid", Name: "exhausted_total",
			Help: "Picks that found no usable number (all resting, cooling down or capped), by pool and strategy.",
		}, []string{"pool", "strategy"}),
		presence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "callerid", Name: "local_presence_matches_total",
			Help: "Local-presence picks by how close the number was: area_code, state or fallback.",
		}, []string{"pool", "match"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "callerid", Name: "store_errors_total",
			Help: "Errors from the shared caller-ID counters (Redis).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.picks, m.exhausted, m.presence, m.storeErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register caller-ID metrics: %w", err)
		}
	}
	return m, nil
}
