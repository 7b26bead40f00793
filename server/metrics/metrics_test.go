package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/server/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func want(t *testing.T, body string, series ...string) {
	t.Helper()
	for _, s := range series {
		if !strings.Contains(body, "\n"+s+"\n") {
			t.Errorf("missing %s", s)
		}
	}
}

func TestRecorders(t *testing.T) {
	m := metrics.New()
	m.ObserveEdge("shop", 200, 30*time.Millisecond)
	m.ObserveEdge("shop", 502, time.Second)
	m.EdgeUpstreamError("shop")
	m.SetFailStatic(true)
	m.SetQueueDepth(7)
	m.ObserveReconcile(2*time.Second, nil)
	m.ObserveReconcile(time.Second, errors.New("runtime down"))
	m.PluginCall("runtime/docker", "Runtime/Deploy", metrics.OutcomeOK, 3*time.Second)
	m.PluginRestart("runtime/docker")
	m.ObserveHTTP("/api/v1/projects", "BREW", 418, time.Millisecond)
	body := scrape(t, m)
	want(t, body,
		`rise_edge_requests_total{project="shop",status="200"} 1`,
		`rise_edge_requests_total{project="shop",status="502"} 1`,
		`rise_edge_request_duration_seconds_count{project="shop"} 2`,
		`rise_edge_upstream_errors_total{project="shop"} 1`,
		`rise_edge_fail_static 1`,
		`rise_controller_queue_depth 7`,
		`rise_reconcile_duration_seconds_count{outcome="ok"} 1`,
		`rise_reconcile_duration_seconds_count{outcome="error"} 1`,
		`rise_plugin_calls_total{method="Runtime/Deploy",outcome="ok",plugin="runtime/docker"} 1`,
		`rise_plugin_call_duration_seconds_sum{method="Runtime/Deploy",plugin="runtime/docker"} 3`,
		`rise_plugin_restarts_total{plugin="runtime/docker"} 1`,
		`rise_http_requests_total{method="other",route="/api/v1/projects",status="418"} 1`,
	)
	m.SetFailStatic(false)
	want(t, scrape(t, m), `rise_edge_fail_static 0`)
}

func TestNilMetricsRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveHTTP("/x", "GET", 200, time.Second)
	m.ObserveEdge("p", 200, time.Second)
	m.EdgeUpstreamError("p")
	m.SetFailStatic(true)
	m.SetQueueDepth(1)
	m.ObserveReconcile(time.Second, nil)
	m.PluginCall("p", "m", "ok", time.Second)
	m.PluginRestart("p")
	m.WatchPool(nil)
	m.WatchDeployments(nil)
}

func TestDeploymentsKeepLastCountsWhenTheDatabaseIsDown(t *testing.T) {
	m := metrics.New()
	var fail bool
	var sawDeadline bool
	m.WatchDeployments(func(ctx context.Context) (map[string]int, error) {
		dl, ok := ctx.Deadline()
		sawDeadline = ok && time.Until(dl) <= metrics.DeploymentCountTimeout
		if fail {
			return nil, errors.New("connection refused")
		}
		return map[string]int{"Healthy": 3, "Pending": 1}, nil
	})
	fail = true
	if body := scrape(t, m); strings.Contains(body, "rise_deployments{") {
		t.Errorf("counts reported before any succeeded:\n%s", body)
	}
	fail = false
	want(t, scrape(t, m), `rise_deployments{state="Healthy"} 3`, `rise_deployments{state="Pending"} 1`, `rise_deployments{state="Deploying"} 0`)
	fail = true
	body := scrape(t, m)
	want(t, body, `rise_deployments{state="Healthy"} 3`, `rise_deployments_count_errors_total 2`)
	if strings.Contains(body, `state="Stopped"`) {
		t.Error("terminal states are reported")
	}
	if !sawDeadline {
		t.Error("the count ran without the scrape timeout")
	}
}

func TestEdgeProjectLabel(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	metrics.LabelEdgeProject(r, "shop") // outside WithEdgeProject: no effect, no panic
	ctx, project := metrics.WithEdgeProject(context.Background())
	if got := project(); got != metrics.NoProject {
		t.Errorf("unlabelled = %q, want %q", got, metrics.NoProject)
	}
	metrics.LabelEdgeProject(r.WithContext(ctx), "shop")
	if got := project(); got != "shop" {
		t.Errorf("labelled = %q", got)
	}
}
