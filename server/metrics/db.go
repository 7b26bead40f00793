package metrics

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	coredeploy "github.com/riseplatform/rise/core/deploy"
)

// WatchPool exports pool's statistics (pgxpool.Stat) as rise_db_pool_*,
// read on every scrape. Call it once per Metrics.
func (m *Metrics) WatchPool(pool *pgxpool.Pool) {
	if m == nil || pool == nil {
		return
	}
	m.reg.MustRegister(poolCollector{pool})
}

type poolCollector struct{ pool *pgxpool.Pool }

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("rise_db_pool_"+name, help, nil, nil)
}

var (
	poolAcquired      = poolDesc("acquired_conns", "Connections in use.")
	poolIdle          = poolDesc("idle_conns", "Idle connections.")
	poolTotal         = poolDesc("total_conns", "Open connections (acquired, idle and being constructed).")
	poolConstructing  = poolDesc("constructing_conns", "Connections being established.")
	poolMax           = poolDesc("max_conns", "The pool's maximum size (database.max_conns).")
	poolAcquires      = poolDesc("acquires_total", "Connections acquired from the pool.")
	poolAcquireSecs   = poolDesc("acquire_duration_seconds_total", "Total time spent acquiring connections.")
	poolEmptyAcquires = poolDesc("empty_acquires_total", "Acquires that had to wait because no connection was idle.")
	poolEmptyWait     = poolDesc("empty_acquire_wait_seconds_total", "Total time acquires waited for a connection because none was idle.")
	poolCanceled      = poolDesc("canceled_acquires_total", "Acquires canceled by their context before getting a connection.")
	poolNewConns      = poolDesc("new_conns_total", "Connections opened.")
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolConstructing, poolMax,
		poolAcquires, poolAcquireSecs, poolEmptyAcquires, poolEmptyWait, poolCanceled, poolNewConns} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	n := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(poolAcquired, float64(s.AcquiredConns()))
	g(poolIdle, float64(s.IdleConns()))
	g(poolTotal, float64(s.TotalConns()))
	g(poolConstructing, float64(s.ConstructingConns()))
	g(poolMax, float64(s.MaxConns()))
	n(poolAcquires, float64(s.AcquireCount()))
	n(poolAcquireSecs, s.AcquireDuration().Seconds())
	n(poolEmptyAcquires, float64(s.EmptyAcquireCount()))
	n(poolEmptyWait, s.EmptyAcquireWaitTime().Seconds())
	n(poolCanceled, float64(s.CanceledAcquireCount()))
	n(poolNewConns, float64(s.NewConnsCount()))
}

// DeploymentCounter counts deployments by state.
type DeploymentCounter func(ctx context.Context) (map[string]int, error)

// DeploymentCountTimeout bounds the query behind rise_deployments on a scrape.
const DeploymentCountTimeout = 2 * time.Second

// WatchDeployments exports rise_deployments{state}: count is called on every
// scrape (with DeploymentCountTimeout) and every non-terminal state is
// reported, 0 when none. When count fails (database down), the last
// successful counts are reported and rise_deployments_count_errors_total goes
// up; before any success nothing is reported. Call it once per Metrics.
func (m *Metrics) WatchDeployments(count DeploymentCounter) {
	if m == nil || count == nil {
		return
	}
	c := &deploymentCollector{count: count, errs: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rise_deployments_count_errors_total",
		Help: "Scrapes on which rise_deployments could not be counted (its values are then the last known).",
	})}
	m.reg.MustRegister(c)
}

var deploymentsDesc = prometheus.NewDesc("rise_deployments",
	"Deployments in each non-terminal state (Pending ... Healthy, Unhealthy, Terminating).", []string{"state"}, nil)

type deploymentCollector struct {
	count DeploymentCounter
	errs  prometheus.Counter
	mu    sync.Mutex
	last  map[string]int
}

func (c *deploymentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- deploymentsDesc
	c.errs.Describe(ch)
}

func (c *deploymentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), DeploymentCountTimeout)
	counts, err := c.count(ctx)
	cancel()
	c.mu.Lock()
	if err != nil {
		c.errs.Inc()
		counts = c.last
	} else {
		c.last = counts
	}
	c.mu.Unlock()
	c.errs.Collect(ch) // after counting, so one scrape is consistent
	if counts == nil {
		return
	}
	for _, s := range liveStates() {
		ch <- prometheus.MustNewConstMetric(deploymentsDesc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}

// liveStates are the deployment states that are not terminal.
func liveStates() []string {
	var out []string
	for _, s := range coredeploy.All {
		if !s.Terminal() {
			out = append(out, string(s))
		}
	}
	return out
}

// CountLiveDeployments counts the deployments table's non-terminal rows by
// state (the table belongs to server/deploy; the WHERE clause matches its
// deployments_live_idx partial index, so terminal history is never scanned).
func CountLiveDeployments(pool *pgxpool.Pool) DeploymentCounter {
	var terminal []string
	for _, s := range coredeploy.All {
		if s.Terminal() {
			terminal = append(terminal, "'"+string(s)+"'") // constants, not input
		}
	}
	q := "SELECT state, count(*) FROM deployments WHERE state NOT IN (" + strings.Join(terminal, ", ") + ") GROUP BY state"
	return func(ctx context.Context) (map[string]int, error) {
		rows, err := pool.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("count deployments: %w", err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var state string
			var n int
			if err := rows.Scan(&state, &n); err != nil {
				return nil, fmt.Errorf("count deployments: %w", err)
			}
			out[state] = n
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("count deployments: %w", err)
		}
		return out, nil
	}
}
