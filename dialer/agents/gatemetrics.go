package agents

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values stand for queues and modes only, never numbers or call IDs.
// Queue names come from configuration, but a call carries whatever the
// engine put in it, so the set of queue labels is capped.
const (
	maxQueueLabels = 200
	otherQueue     = "_other"   // queues beyond maxQueueLabels
	anyQueue       = "_any"     // the empty queue (any agent)
	otherMode      = "_unknown" // a call with an unknown dial mode
)

// labels caps a label's distinct values.
type labels struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (l *labels) get(v string) string {
	if v == "" {
		return anyQueue
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[v] {
		return v
	}
	if len(l.seen) >= maxQueueLabels {
		return otherQueue
	}
	if l.seen == nil {
		l.seen = make(map[string]bool)
	}
	l.seen[v] = true
	return v
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register: %w", err)
		}
	}
	return nil
}

// connMetrics are the QueueConnector's series.
type connMetrics struct {
	queues   labels
	connects *prometheus.CounterVec // queue
	abandons *prometheus.CounterVec // queue
}

func newConnMetrics(reg prometheus.Registerer) (*connMetrics, error) {
	m := &connMetrics{
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "agents", Name: "connects_total",
			Help: "Human answers bridged to an agent, by queue.",
		}, []string{"queue"}),
		abandons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "agents", Name: "abandons_total",
			Help: "Human answers that found no agent or whose bridge failed (abandoned calls), by queue.",
		}, []string{"queue"}),
	}
	return m, register(reg, m.connects, m.abandons)
}

func (m *connMetrics) queueLabel(q string) string { return m.queues.get(q) }

// Results of a gated call (metric label values).
const (
	resultDialed    = "dialed"    // handed to the dialer
	resultRequeued  = "requeued"  // no agent (or pacing capacity) in time: not placed, retry later
	resultCancelled = "cancelled" // ctx ended or the gate closed before dialing
	resultRejected  = "rejected"  // bad request (unknown mode, duplicate call ID)
)

// gateMetrics are the Gate's series.
type gateMetrics struct {
	queues labels
	calls  *prometheus.CounterVec   // mode, result
	wait   *prometheus.HistogramVec // mode, queue
}

func newGateMetrics(reg prometheus.Registerer) (*gateMetrics, error) {
	m := &gateMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza", Subsystem: "agents", Name: "gated_calls_total",
			Help: "Calls through the dial-mode gate, by mode and result (dialed, requeued, cancelled, rejected).",
		}, []string{"mode", "result"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "cadenza", Subsystem: "agents", Name: "wait_seconds",
			Help:    "Time a call waited in the gate for an agent (or predictive capacity) before it was dialed, by mode and queue.",
			Buckets: []float64{.001, .01, .1, .5, 1, 2, 5, 10, 20, 30, 60, 120, 300},
		}, []string{"mode", "queue"}),
	}
	return m, register(reg, m.calls, m.wait)
}
