package pluginhost_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/pluginhost"
	"github.com/riseplatform/rise/sdk"
)

// recorder is an Observer that keeps what it saw.
type recorder struct {
	mu       sync.Mutex
	calls    map[string]int // "plugin method outcome"
	restarts map[string]int
}

func (r *recorder) PluginCall(plugin, method, outcome string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d <= 0 {
		outcome += " (no duration)"
	}
	r.calls[plugin+" "+method+" "+outcome]++
}

func (r *recorder) PluginRestart(plugin string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restarts[plugin]++
}

func (r *recorder) snapshot() (map[string]int, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, s := map[string]int{}, map[string]int{}
	for k, v := range r.calls {
		c[k] = v
	}
	for k, v := range r.restarts {
		s[k] = v
	}
	return c, s
}

func TestObserverSeesCallsAndRestarts(t *testing.T) {
	rec := &recorder{calls: map[string]int{}, restarts: map[string]int{}}
	h := newHost(t, func(o *pluginhost.Options) { o.Observer = rec })
	ctx := context.Background()
	ok, _ := h.Runtime(ctx, "faulty", nil)
	if _, err := pluginPID(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if _, err := ok.Deploy(ctx, &sdk.DeployRequest{DeploymentID: "d1"}, nil); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	notFound, _ := h.Runtime(ctx, "faulty", []byte(`{"mode":"notfound"}`))
	if _, err := notFound.Status(ctx, &sdk.Deployment{}); err == nil {
		t.Fatal("notfound mode: no error")
	}
	calls, restarts := rec.snapshot()
	for _, want := range []string{
		"runtime/faulty Runtime/Status ok",
		"runtime/faulty Runtime/Deploy ok",
		"runtime/faulty Runtime/Status error",
	} {
		if calls[want] != 1 {
			t.Errorf("calls[%q] = %d, want 1 (all: %v)", want, calls[want], calls)
		}
	}
	if len(restarts) != 0 {
		t.Errorf("restarts without a crash: %v", restarts)
	}

	crash, _ := h.Runtime(ctx, "faulty", []byte(`{"mode":"exit"}`))
	if _, err := crash.Status(ctx, &sdk.Deployment{}); err == nil {
		t.Fatal("exit mode: no error")
	}
	if _, err := pluginPID(ctx, ok); err != nil {
		t.Fatalf("call after the crash: %v", err)
	}
	calls, restarts = rec.snapshot()
	if calls["runtime/faulty Runtime/Status unavailable"] != 1 {
		t.Errorf("the crashed call is not counted as unavailable: %v", calls)
	}
	if restarts["runtime/faulty"] != 1 {
		t.Errorf("restarts = %v, want runtime/faulty: 1", restarts)
	}
	for k := range calls {
		if _, err := fmt.Sscanf(k, "runtime/faulty Runtime/%s", new(string)); err != nil {
			t.Errorf("unexpected call observed (go-plugin's own services must not be): %q", k)
		}
	}
}
