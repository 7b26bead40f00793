package kubernetes

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestScanLines(t *testing.T) {
	var got []sdk.LogLine
	in := "2026-11-26T10:00:00.5Z hello world\nno timestamp here\n"
	if err := scanLines(strings.NewReader(in), func(l sdk.LogLine) error { got = append(got, l); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Text != "hello world" || got[0].Time.IsZero() || got[1].Text != "no timestamp here" {
		t.Fatalf("lines = %+v", got)
	}
}

// TestLogs reads and follows pod logs through the API server from KWOK's
// fake kubelet. Every pod logs its own lines, and two projects share one
// namespace with the same group and deployment ID, so only the project
// label tells their pods apart: a deployment's logs must be exactly its own
// pods' lines (from each replica), never another project's.
func TestLogs(t *testing.T) {
	c := kubetest.StartFull(t)
	shared := uniqueProject("logs-shared")
	r := newRuntime(t, c, func(r *Runtime) { r.DisableCache = false; r.NamespaceFormat = shared })
	reqA, reqB := request(uniqueProject("logs-a"), "1"), request(uniqueProject("logs-b"), "1")
	reqA.Workload.Replicas = 2
	dA, dB := deploy(t, r, reqA), deploy(t, r, reqB)
	waitHealth(t, r, dA, sdk.HealthHealthy)
	waitHealth(t, r, dB, sdk.HealthHealthy)

	// Give every pod its own log, naming the pod.
	podsA, podsB := podsOf(t, c, r, reqA), podsOf(t, c, r, reqB)
	if len(podsA) != 2 || len(podsB) != 1 {
		t.Fatalf("pods: %v of %s, %v of %s; want 2 and 1", podsA, reqA.Project, podsB, reqB.Project)
	}
	podLines := func(pod string) []string { return []string{pod + " started", pod + " listening on :8080"} }
	for _, pod := range append(append([]string{}, podsA...), podsB...) {
		if err := c.SetPodLog(ctx(t), shared, pod, podLines(pod)...); err != nil {
			t.Fatal(err)
		}
	}

	read := func(d *sdk.Deployment) map[string]int {
		t.Helper()
		got := map[string]int{}
		if err := r.Logs(ctx(t), d, sdk.LogOptions{}, func(l sdk.LogLine) error {
			if l.Time.IsZero() {
				t.Errorf("line %q has no timestamp", l.Text)
			}
			got[l.Text]++
			return nil
		}); err != nil {
			t.Fatalf("Logs(%s): %v", d.ID, err)
		}
		return got
	}
	for _, tc := range []struct {
		project string
		d       *sdk.Deployment
		pods    []string
	}{{reqA.Project, dA, podsA}, {reqB.Project, dB, podsB}} {
		want := map[string]int{}
		for _, pod := range tc.pods {
			for _, l := range podLines(pod) {
				want[l] = 1
			}
		}
		if got := read(tc.d); !maps.Equal(got, want) {
			t.Errorf("Logs of %s = %v, want exactly its pods' lines %v", tc.project, got, want)
		}
	}

	// Follow: a line written later to each of A's pods arrives, B's never
	// does, and cancelling ends the stream.
	fctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	got := make(chan string, 100)
	var wg sync.WaitGroup
	var ferr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		ferr = r.Logs(fctx, dA, sdk.LogOptions{Follow: true, Tail: 1}, func(l sdk.LogLine) error { got <- l.Text; return nil })
	}()
	stamp := time.Now().Format(time.RFC3339Nano)
	if err := c.AppendPodLogOf(shared, podsB[0], "late line of B "+stamp); err != nil {
		t.Fatal(err)
	}
	pending := map[string]bool{}
	for _, pod := range podsA {
		l := "late line of " + pod + " " + stamp
		pending[l] = true
		if err := c.AppendPodLogOf(shared, pod, l); err != nil {
			t.Fatal(err)
		}
	}
	allowed := map[string]bool{}
	for _, pod := range podsA {
		allowed[podLines(pod)[1]] = true // Tail: 1
	}
	deadline := time.After(30 * time.Second)
	check := func(l string) {
		if !pending[l] && !allowed[l] {
			t.Errorf("followed logs of %s showed %q, not a line of its pods' tails", reqA.Project, l)
		}
		delete(pending, l)
	}
	for len(pending) > 0 {
		select {
		case l := <-got:
			check(l)
		case <-deadline:
			t.Fatalf("followed logs never showed %v", pending)
		}
	}
	// B's line was written first: give it a moment to (wrongly) show up.
	settle := time.After(time.Second)
drain:
	for {
		select {
		case l := <-got:
			check(l)
		case <-settle:
			break drain
		}
	}
	cancel()
	wg.Wait()
	if ferr != nil {
		t.Fatalf("Logs(follow) after cancel: %v", ferr)
	}
}

// podsOf names the pods of a deployment (by its labels, not through the
// runtime under test).
func podsOf(t *testing.T, c *kubetest.Cluster, r *Runtime, req *sdk.DeployRequest) []string {
	t.Helper()
	sel := labels.SelectorFromSet(selector(req.Project, req.Group, req.DeploymentID)).String()
	pods, err := c.Client(t).CoreV1().Pods(r.namespaceFor(req.Project)).List(ctx(t), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatalf("list pods of %s: %v", req.Project, err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}
