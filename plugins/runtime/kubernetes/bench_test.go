package kubernetes

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/benchbudget"
	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/apphost"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	benchProjects   = 100
	benchPerProject = 10
	benchWorkers    = 32
)

// BenchmarkDeploy1000 deploys 1,000 deployments across 100 projects on the
// real API server, each followed by one Status, and compares that with a
// bare client-go loop writing the same objects and reading the same status
// (1,000 deployments too). The work runs in rounds of benchProjects/rounds
// projects per side, the side going first alternating, so neither side
// always meets the fuller etcd. Budget: rise adds < 10% (ratio ≤ 1.10,
// docs/development.md).
//
//	go test -run '^$' -bench Deploy1000 -benchtime 1x ./plugins/runtime/kubernetes/
func BenchmarkDeploy1000(b *testing.B) {
	const rounds = 4
	c := kubetest.Start(b)
	var riseTotal, bareTotal time.Duration
	var riseReqs, bareReqs int64
	for i := 0; i < b.N*rounds; i++ {
		prefix := uniqueProject("b")
		bare := func() {
			d, n := benchBare(b, c, prefix+"-bare", benchProjects/rounds)
			bareTotal += d
			bareReqs += n
		}
		rise := func() {
			d, n := benchRise(b, c, prefix+"-rise", benchProjects/rounds)
			riseTotal += d
			riseReqs += n
		}
		if i%2 == 0 {
			bare()
			rise()
		} else {
			rise()
			bare()
		}
	}
	n := float64(b.N * benchProjects * benchPerProject)
	b.ReportMetric(float64(riseReqs)/n, "req/deploy")
	b.ReportMetric(float64(bareReqs)/n, "bare-req/deploy")
	b.ReportMetric(riseTotal.Seconds()/float64(b.N), "rise-s/1000")
	b.ReportMetric(bareTotal.Seconds()/float64(b.N), "bare-s/1000")
	benchbudget.Report(b, float64(riseTotal)/float64(bareTotal), 1.10)
}

// countingConfig counts the HTTP requests made through the config.
func countingConfig(cfg *rest.Config, n *int64) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 2000, 4000
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			atomic.AddInt64(n, 1)
			return rt.RoundTrip(r)
		})
	}
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// forEachProject runs fn for every project on a pool of workers; each
// project's deployments run in order on one worker (as the controller does).
func forEachProject(b *testing.B, prefix string, projectCount int, fn func(ctx context.Context, project string, i int) error) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	projects := make(chan string)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	start := time.Now()
	for range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range projects { // keep draining after a failure
				for i := 0; i < benchPerProject && ctx.Err() == nil; i++ {
					if err := fn(ctx, p, i); err != nil {
						failed.CompareAndSwap(nil, &err)
						cancel()
					}
				}
			}
		}()
	}
	for p := range projectCount {
		projects <- fmt.Sprintf("%s-%d", prefix, p)
	}
	close(projects)
	wg.Wait()
	took := time.Since(start)
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return took
}

func benchRequest(project string, i int) *sdk.DeployRequest {
	req := request(project, fmt.Sprintf("20261123-%06d", i))
	req.Workload.Env = map[string]string{"LOG_LEVEL": "info"}
	return req
}

func benchRise(b *testing.B, c *kubetest.Cluster, prefix string, projects int) (time.Duration, int64) {
	var n int64
	r := &Runtime{Domain: "apps.example.com", IngressClass: "nginx"}
	if err := r.Provision(context.Background()); err != nil {
		b.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(countingConfig(c.RestConfig(), &n))
	if err != nil {
		b.Fatal(err)
	}
	r.client = cs
	took := forEachProject(b, prefix, projects, func(ctx context.Context, project string, i int) error {
		d, err := r.Deploy(ctx, benchRequest(project, i), nil)
		if err != nil {
			return err
		}
		_, err = r.Status(ctx, d)
		return err
	})
	return took, n
}

// benchBare writes the same objects with plain client-go: per project the
// namespace, ingress and network policy once; per deployment the
// Deployment and Service; then reads the Deployment and its pods.
func benchBare(b *testing.B, c *kubetest.Cluster, prefix string, projects int) (time.Duration, int64) {
	var n int64
	r := &Runtime{Domain: "apps.example.com", IngressClass: "nginx"}
	if err := r.Provision(context.Background()); err != nil {
		b.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(countingConfig(c.RestConfig(), &n))
	if err != nil {
		b.Fatal(err)
	}
	opts := metav1.ApplyOptions{FieldManager: "bare", Force: true}
	took := forEachProject(b, prefix, projects, func(ctx context.Context, project string, i int) error {
		req := benchRequest(project, i)
		ns := r.namespaceFor(project)
		name := r.deploymentName(apphost.Target{Project: project, Group: req.Group}, req.DeploymentID)
		if i == 0 {
			if _, err := cs.CoreV1().Namespaces().Apply(ctx, r.namespaceObject(project), opts); err != nil {
				return err
			}
			if _, err := cs.NetworkingV1().Ingresses(ns).Apply(ctx, r.ingressObject(ns, apphost.Target{Project: project, Group: req.Group}, req.Visibility, nil), opts); err != nil {
				return err
			}
			if _, err := cs.NetworkingV1().NetworkPolicies(ns).Apply(ctx, r.networkPolicy(ns, project), opts); err != nil {
				return err
			}
		}
		dep, err := r.deploymentObject(ns, name, req)
		if err != nil {
			return err
		}
		if _, err := cs.AppsV1().Deployments(ns).Apply(ctx, dep, opts); err != nil {
			return err
		}
		svc := r.serviceObject(ns, apphost.Target{Project: project, Group: req.Group}, req.DeploymentID, req.Workload.Port)
		if _, err := cs.CoreV1().Services(ns).Apply(ctx, svc, opts); err != nil {
			return err
		}
		got, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		_, err = cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
			LabelSelector: labels.SelectorFromSet(got.Spec.Selector.MatchLabels).String()})
		return err
	})
	return took, n
}
