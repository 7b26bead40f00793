package kubernetes

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/kubetest"
	"github.com/riseplatform/rise/sdk"
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
// fake kubelet.
func TestLogs(t *testing.T) {
	c := kubetest.StartFull(t)
	r := newRuntime(t, c, func(r *Runtime) { r.DisableCache = false })
	req := request(uniqueProject("logs"), "1")
	d := deploy(t, r, req)
	waitHealth(t, r, d, sdk.HealthHealthy)

	var lines []sdk.LogLine
	if err := r.Logs(ctx(t), d, sdk.LogOptions{}, func(l sdk.LogLine) error { lines = append(lines, l); return nil }); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	if len(lines) < len(kubetest.PodLogLines) || lines[0].Text != kubetest.PodLogLines[0] || lines[0].Time.IsZero() {
		t.Fatalf("Logs = %+v, want %q with timestamps", lines, kubetest.PodLogLines)
	}

	// Follow: a line written later arrives, and cancelling ends the stream.
	fctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	got := make(chan string, 100)
	var wg sync.WaitGroup
	var ferr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		ferr = r.Logs(fctx, d, sdk.LogOptions{Follow: true, Tail: 1}, func(l sdk.LogLine) error { got <- l.Text; return nil })
	}()
	want := "late line " + time.Now().Format(time.RFC3339Nano)
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	if err := c.AppendPodLog(want); err != nil {
		t.Fatal(err)
	}
wait:
	for {
		select {
		case l := <-got:
			if l == want {
				break wait
			}
		case <-tick.C:
		case <-deadline:
			t.Fatalf("followed logs never showed %q", want)
		}
	}
	cancel()
	wg.Wait()
	if ferr != nil {
		t.Fatalf("Logs(follow) after cancel: %v", ferr)
	}
}
