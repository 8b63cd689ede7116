package pacing

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a pacer's Prometheus collectors. Labels are bounded: "key" only
// ever holds a configured pacing key (unknown keys are refused before any
// metric is touched), "reason" one of the Reason constants.
type metrics struct {
	wait        *prometheus.HistogramVec
	refusals    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	unavailable prometheus.Gauge
	active      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "cadenza", Subsystem: "pacing", Name: "wait_seconds",
			Help:    "Time Acquire waited before a call was allowed to start.",
			Buckets: []float64{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"key"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "pacing", Name: "refusals_total",
			Help: "Pacing decisions that refused a call, by binding limit.",
		}, []string{"key", "reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "pacing", Name: "backend_errors_total",
			Help: "Errors talking to the shared pacing state (Redis), by operation.",
		}, []string{"op"}),
		unavailable: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "cadenza", Subsystem: "pacing", Name: "fail_closed",
			Help: "1 while the pacing state cannot be reached and no call may start.",
		}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cadenza", Subsystem: "pacing", Name: "active_slots",
			Help: "Channel slots this process holds, by pacing key.",
		}, []string{"key"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.wait, m.refusals, m.errors, m.unavailable, m.active} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("register pacing metrics: %w (one pacer per registry)", err)
			}
			return nil, fmt.Errorf("register pacing metrics: %w", err)
		}
	}
	return m, nil
}
