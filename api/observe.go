package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics are the API's own Prometheus series, labelled by route
// pattern (bounded) rather than path (unbounded ids).
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cadenza",
			Subsystem: "http",
			Name:      "requests_total",
			Help:      "HTTP requests by route pattern, method and status class.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "cadenza",
			Subsystem: "http",
			Name:      "request_duration_seconds",
			Help:      "HTTP request latency by route pattern.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register http metrics: %w", err)
			}
		}
	}
	return m, nil
}

// codeClass turns 404 into "4xx": status classes keep the series few.
func codeClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// observe records one finished request in the metrics and the access log.
// The log names the key by id, never by secret.
func (s *Server) observe(r *http.Request, route string, status int, start time.Time, keyID string) {
	d := s.now().Sub(start)
	if d < 0 {
		d = 0
	}
	method := r.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions:
	default: // clients choose methods freely: keep the label set bounded
		method = "other"
	}
	s.metrics.requests.WithLabelValues(route, method, codeClass(status)).Inc()
	s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "http request",
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("key_id", keyID),
	)
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metricsHandler serves the Gatherer passed in Options.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorLog: slogPrinter{s.log}})
}

// slogPrinter adapts the logger to promhttp's Println-style ErrorLog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Error("metrics", slog.String("error", fmt.Sprint(v...)))
}

// healthz answers 200 while the process serves requests.
func (s *Server) healthz(*request) (*reply, error) {
	return jsonReply(http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

// readyzTimeout bounds the readiness probe's database ping.
const readyzTimeout = 2 * time.Second

// readyz answers 200 when the database answers a ping within 2 s, else 503.
func (s *Server) readyz(req *request) (*reply, error) {
	ctx, cancel := context.WithTimeout(req.Context(), readyzTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness: database unreachable", slog.String("error", err.Error()))
		return nil, newProblem(http.StatusServiceUnavailable, "not-ready", "database unreachable")
	}
	return jsonReply(http.StatusOK, map[string]string{"status": "ready"})
}
