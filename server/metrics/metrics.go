// Package metrics owns the server's Prometheus registry and every rise_*
// metric: their names, labels and buckets live here and nowhere else. Other
// packages record through the small methods of *Metrics, each one line at the
// call site; every method is safe on a nil *Metrics (it does nothing), so a
// package can take an optional Metrics option and call it unconditionally.
//
//	m := metrics.New()
//	m.WatchPool(store.Pool())                 // pgx pool stats, read on scrape
//	m.WatchDeployments(metrics.CountLiveDeployments(store.Pool()))
//	m.EdgeUpstreamError(project)              // one line at the call site
//	http.Handle("/metrics", m.Handler())
//
// The metrics are listed, with example alerts, in docs/operations.md.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcome labels of reconciles and plugin calls.
const (
	OutcomeOK          = "ok"
	OutcomeError       = "error"
	OutcomeTimeout     = "timeout"     // the call's deadline passed
	OutcomeCanceled    = "canceled"    // the caller gave up
	OutcomeUnavailable = "unavailable" // the plugin process crashed or could not be reached
)

// OtherRoute is the route label of requests that matched no API route.
const OtherRoute = "other"

// Metrics is the registry and the metrics recorded into it.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	edgeRequests       *prometheus.CounterVec
	edgeDuration       *prometheus.HistogramVec
	edgeUpstreamErrors *prometheus.CounterVec
	edgeFailStatic     prometheus.Gauge

	queueDepth        prometheus.Gauge
	reconcileDuration *prometheus.HistogramVec

	pluginCalls    *prometheus.CounterVec
	pluginDuration *prometheus.HistogramVec
	pluginRestarts *prometheus.CounterVec
}

// Latency buckets: API and edge requests are mostly milliseconds; plugin
// calls and reconciles include image pulls and container starts.
var (
	requestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	slowBuckets    = []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}
)

// New returns a Metrics with every rise_* metric registered, plus the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rise_http_requests_total",
		Help: "API requests served, by route template, method and status code.",
	}, []string{"route", "method", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rise_http_request_duration_seconds", Buckets: requestBuckets,
		Help: "API request latency, by route template and method.",
	}, []string{"route", "method"})
	m.edgeRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rise_edge_requests_total",
		Help: "App requests served by the edge router, by project and status code.",
	}, []string{"project", "status"})
	m.edgeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rise_edge_request_duration_seconds", Buckets: requestBuckets,
		Help: "App request latency through the edge router, by project.",
	}, []string{"project"})
	m.edgeUpstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rise_edge_upstream_errors_total",
		Help: "App requests the edge could not deliver to the app (connection refused, reset, timeout), by project.",
	}, []string{"project"})
	m.edgeFailStatic = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rise_edge_fail_static",
		Help: "1 while the edge serves from its last known routes because the database is unreachable, else 0.",
	})
	m.queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rise_controller_queue_depth",
		Help: "Deployments waiting for the deployment controller.",
	})
	m.reconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rise_reconcile_duration_seconds", Buckets: slowBuckets,
		Help: "Time the deployment controller spent per reconcile, by outcome (ok, error).",
	}, []string{"outcome"})
	m.pluginCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rise_plugin_calls_total",
		Help: "gRPC calls to plugins, by plugin, method and outcome (ok, error, timeout, canceled, unavailable).",
	}, []string{"plugin", "method", "outcome"})
	m.pluginDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rise_plugin_call_duration_seconds", Buckets: slowBuckets,
		Help: "Plugin call latency (streamed calls: until the stream ends), by plugin and method.",
	}, []string{"plugin", "method"})
	m.pluginRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rise_plugin_restarts_total",
		Help: "Plugin processes started again after the previous one crashed or hung, by plugin.",
	}, []string{"plugin"})
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.edgeRequests, m.edgeDuration, m.edgeUpstreamErrors, m.edgeFailStatic,
		m.queueDepth, m.reconcileDuration,
		m.pluginCalls, m.pluginDuration, m.pluginRestarts,
	)
	return m
}

// Registry is the one registry; register further collectors here.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4})
}

// ObserveHTTP records one API request. route is the route template
// ("/api/v1/projects/{project}"), never the raw path.
func (m *Metrics) ObserveHTTP(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	method = normMethod(method)
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// ObserveEdge records one app request the edge answered (status is what the
// client got, including the edge's own 404/502/503). server.byHost calls it
// for every app request; project is NoProject unless the edge called
// LabelEdgeProject.
func (m *Metrics) ObserveEdge(project string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.edgeRequests.WithLabelValues(project, strconv.Itoa(status)).Inc()
	m.edgeDuration.WithLabelValues(project).Observe(d.Seconds())
}

// EdgeUpstreamError counts a request the edge could not deliver to
// project's app.
func (m *Metrics) EdgeUpstreamError(project string) {
	if m == nil {
		return
	}
	m.edgeUpstreamErrors.WithLabelValues(project).Inc()
}

// SetFailStatic reports whether the edge is serving from its last known
// routes because it cannot read them from the database.
func (m *Metrics) SetFailStatic(on bool) {
	if m == nil {
		return
	}
	m.edgeFailStatic.Set(b2f(on))
}

// SetQueueDepth reports how many deployments wait for the controller.
func (m *Metrics) SetQueueDepth(n int) {
	if m == nil {
		return
	}
	m.queueDepth.Set(float64(n))
}

// ObserveReconcile records one reconcile of one deployment; err nil is
// outcome "ok", anything else "error".
func (m *Metrics) ObserveReconcile(d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := OutcomeOK
	if err != nil {
		outcome = OutcomeError
	}
	m.reconcileDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// PluginCall records one call to a plugin (core/pluginhost's Observer).
func (m *Metrics) PluginCall(plugin, method, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.pluginCalls.WithLabelValues(plugin, method, outcome).Inc()
	m.pluginDuration.WithLabelValues(plugin, method).Observe(d.Seconds())
}

// PluginRestart counts a plugin process started again after a crash or
// hang (core/pluginhost's Observer).
func (m *Metrics) PluginRestart(plugin string) {
	if m == nil {
		return
	}
	m.pluginRestarts.WithLabelValues(plugin).Inc()
}

// normMethod keeps the method label bounded: anything but the standard
// methods is "other".
func normMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
