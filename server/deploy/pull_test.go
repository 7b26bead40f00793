package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/deploy"
)

// pullRecorder is the real Docker runtime recording the pull credentials
// each Deploy call was given (and keeping them from the engine: the test
// image is local, there is no registry to pull from).
type pullRecorder struct {
	*docker.Runtime
	mu        sync.Mutex
	passwords []string
}

func (r *pullRecorder) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	r.mu.Lock()
	if req.PullCredentials != nil {
		r.passwords = append(r.passwords, req.PullCredentials.Password)
	}
	r.mu.Unlock()
	local := *req
	local.PullCredentials = nil
	return r.Runtime.Deploy(ctx, &local, ui)
}

func (r *pullRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.passwords...)
}

// TestPullCredentialsRenewed: a running deployment is handed fresh pull
// credentials half-way through the old ones' lifetime (a runtime may pull
// again at any time, e.g. a pod rescheduled to another node), without a
// second container.
func TestPullCredentialsRenewed(t *testing.T) {
	rt := &pullRecorder{}
	var issued int
	var mu sync.Mutex
	var repo string // the test image's repository: credentials go only with images of theirs
	e := newEnv(t, func(o *deploy.Options) {
		o.Runtime = func(context.Context) (sdk.Runtime, error) { return rt, nil }
		o.PullCredentials = func(_ context.Context, project string) (*sdk.Credentials, error) {
			mu.Lock()
			defer mu.Unlock()
			issued++
			return &sdk.Credentials{Registry: "localhost", Repository: repo, Username: "pull", Password: fmt.Sprintf("p%d", issued),
				ExpiresAt: time.Now().Add(2 * time.Second)}, nil
		}
	})
	rt.Runtime = e.rt
	mu.Lock()
	repo, _, _ = strings.Cut(e.image, ":")
	mu.Unlock()
	p := e.project("public")
	d := e.wait(p, e.deploy(p, httpd("v1")).ID, api.StateHealthy)

	deadline := time.Now().Add(20 * time.Second)
	for len(rt.seen()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("pull credentials handed to the runtime: %v; want at least 3 (renewed every ~1s)", rt.seen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := rt.seen()
	for i := 1; i < len(seen); i++ {
		if seen[i] == seen[i-1] {
			t.Fatalf("credentials not fresh on renewal: %v", seen)
		}
	}
	if n := len(e.containers(p)); n != 1 {
		t.Fatalf("%d containers after renewals, want 1", n)
	}
	if got, err := e.owner.Client.GetDeployment(context.Background(), p, d.ID); err != nil || got.State != api.StateHealthy {
		t.Fatalf("deployment after renewals = %+v, %v", got, err)
	}
}
