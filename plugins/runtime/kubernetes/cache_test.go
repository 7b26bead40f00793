package kubernetes

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	"k8s.io/client-go/kubernetes"
)

// TestCacheReads: with the watch-fed cache, Status sees changes made by
// others (eventually) and costs no API request while nothing changes.
func TestCacheReads(t *testing.T) {
	c := kubetest.Start(t)
	cs := c.Client(t)
	old := writeSettle
	writeSettle = 0
	t.Cleanup(func() { writeSettle = old })

	var n int64
	counted, err := kubernetes.NewForConfig(countingConfig(c.RestConfig(), &n))
	if err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t, c, func(r *Runtime) { r.DisableCache = false })
	r.client = counted
	req := request(uniqueProject("cache"), "1")
	d := deploy(t, r, req)
	markAvailable(t, cs, r, req) // written by "the cluster", not by r
	deadline := time.Now().Add(30 * time.Second)
	for {
		before := atomic.LoadInt64(&n)
		s := status(t, r, d)
		if s.Health == sdk.HealthHealthy && atomic.LoadInt64(&n) == before {
			break // healthy, served from the cache
		}
		if time.Now().After(deadline) {
			t.Fatalf("Status never became healthy from the cache: %v %s", s.Health, s.Message)
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := atomic.LoadInt64(&n)
	for range 20 {
		if s := status(t, r, d); s.Health != sdk.HealthHealthy {
			t.Fatalf("Status: %v %s", s.Health, s.Message)
		}
	}
	if got := atomic.LoadInt64(&n) - before; got != 0 {
		t.Errorf("20 Status calls on an unchanged deployment made %d API requests, want 0", got)
	}
}
