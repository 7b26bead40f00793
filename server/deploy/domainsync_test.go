package deploy_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	coredeploy "github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/domains"
)

// domainsRuntime is the docker runtime recording the custom domains of
// every Deploy, by deployment id.
type domainsRuntime struct {
	*docker.Runtime
	mu   sync.Mutex
	sent map[string][][]string
}

func (r *domainsRuntime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	r.mu.Lock()
	r.sent[req.DeploymentID] = append(r.sent[req.DeploymentID], slices.Clone(req.Domains))
	r.mu.Unlock()
	return r.Runtime.Deploy(ctx, req, ui)
}

func (r *domainsRuntime) deploys(id string) [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent[id])
}

// TestDomainChangesRedeploy: verifying or removing a custom domain hands
// the project's running deployment the new list at once (a Deploy with the
// same id, which the Kubernetes runtime turns into Ingress hosts; see
// TestCustomDomainsIngress), through migration 0011's notification: the
// health interval is far longer than the test. Primary changes, unverified
// claims and another project's domains deploy nothing.
func TestDomainChangesRedeploy(t *testing.T) {
	rt := &domainsRuntime{sent: map[string][][]string{}}
	e := newEnvWith(t, func(o *deploy.Options) {
		o.Runtime = func(context.Context) (sdk.Runtime, error) { return rt, nil }
		o.HealthInterval = 10 * time.Minute
		svc, err := domains.New(domains.Options{Store: o.Store, Checker: domains.NewChecker("", "", nil)})
		if err != nil {
			t.Fatal(err)
		}
		o.Domains = svc.Verified
	}, false)
	rt.Runtime = e.rt
	e.stop = e.run(e.svc)

	p, other := e.project("public"), e.project("public")
	d := e.deploy(p, httpd("shop"))
	e.wait(p, d.ID, coredeploy.Healthy)
	if got := rt.deploys(d.ID); len(got) != 1 || len(got[0]) != 0 {
		t.Fatalf("deploys %v, want one without domains", got)
	}
	ctx := context.Background()
	pool := e.Store.Pool()
	projectID := func(name string) string {
		var id string
		if err := pool.QueryRow(ctx, `SELECT id FROM projects WHERE name = $1`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	pid, otherID := projectID(p), projectID(other)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// waitDeploys waits (well within the health interval) until d has had
	// n Deploys and returns the last one's domains.
	waitDeploys := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			got := rt.deploys(d.ID)
			if len(got) > n {
				t.Fatalf("deploys %v, want %d", got, n)
			}
			if len(got) == n {
				return got[n-1]
			}
			if time.Now().After(deadline) {
				t.Fatalf("deploys %v after 15s, want %d", got, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// An unverified claim, and another project's verified domain: nothing.
	exec(`INSERT INTO domains (project_id, domain, token) VALUES ($1, 'www.shop.example', 't1')`, pid)
	exec(`INSERT INTO domains (project_id, domain, token, verified_at) VALUES ($1, 'other.example', 't2', now())`, otherID)

	// Verified (as the domains service's verify does): deployed again at once.
	exec(`UPDATE domains SET verified_at = now() WHERE project_id = $1 AND domain = 'www.shop.example'`, pid)
	if got := waitDeploys(2); !slices.Equal(got, []string{"www.shop.example"}) {
		t.Errorf("after verify: domains %v", got)
	}
	exec(`INSERT INTO domains (project_id, domain, token, verified_at) VALUES ($1, 'shop.example', 't3', now())`, pid)
	if got := waitDeploys(3); !slices.Equal(got, []string{"shop.example", "www.shop.example"}) {
		t.Errorf("after a second verified domain: domains %v", got)
	}

	// Making one primary notifies too, but the hosts are the same.
	exec(`UPDATE domains SET is_primary = true WHERE project_id = $1 AND domain = 'shop.example'`, pid)
	exec(`UPDATE domains SET is_primary = true WHERE project_id = $1 AND domain = 'other.example'`, otherID)
	time.Sleep(time.Second)

	// Removed: deployed again without it.
	exec(`DELETE FROM domains WHERE project_id = $1 AND domain = 'shop.example'`, pid)
	if got := waitDeploys(4); !slices.Equal(got, []string{"www.shop.example"}) {
		t.Errorf("after remove: domains %v", got)
	}
	exec(`DELETE FROM domains WHERE project_id = $1`, pid)
	if got := waitDeploys(5); len(got) != 0 {
		t.Errorf("after removing the last domain: domains %v", got)
	}
	if got := e.wait(p, d.ID, coredeploy.Healthy); got.State != coredeploy.Healthy {
		t.Errorf("deployment %s after the domain changes", got.State)
	}
	time.Sleep(500 * time.Millisecond)
	if got := rt.deploys(d.ID); len(got) != 5 {
		t.Errorf("deploys %v, want 5", got)
	}
}
