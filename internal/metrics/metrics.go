// Package metrics is what the coordinator and the worker tell Prometheus.
// Every instance has a registry of its own (no package-level state), so
// one process can run a coordinator and a worker, and tests many of each.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds one server's metrics.
type Registry struct {
	reg *prometheus.Registry
}

// New makes a registry with the Go runtime's and the process's metrics.
func New() *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: reg}
}

// Handler serves the metrics in Prometheus's text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// Bearer serves h to requests that bear token (Authorization: Bearer
// token, as Prometheus sends a scrape config's authorization), compared
// in constant time, and 401 to others: metrics on a public listener tell
// a stranger how busy the service is, and what runs it.
func Bearer(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the metrics_token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Gauge registers a gauge read at each scrape.
func (r *Registry) Gauge(name, help string, read func() float64) {
	r.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}

// Counter registers a counter.
func (r *Registry) Counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	r.reg.MustRegister(c)
	return c
}

// CounterVec registers a counter with labels.
func (r *Registry) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.reg.MustRegister(c)
	return c
}

// Seconds registers a histogram of durations, with buckets from 0.25 ms
// to about 8 s: a frame's stages are a fraction of a millisecond, a
// choice of worker or a save tens of them.
func (r *Registry) Seconds(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: name, Help: help,
		Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
	})
	r.reg.MustRegister(h)
	return h
}

// Since observes the time since start, in seconds.
func Since(h prometheus.Observer, start time.Time) { h.Observe(time.Since(start).Seconds()) }
