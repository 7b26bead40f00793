package deploy_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/store"
)

const childEnv = "RISE_DEPLOY_TEST_CHILD_DB"

// hangAfterDeploy lets the real runtime start the container, reports it on
// stdout and then hangs, so the parent can kill -9 the process while the
// deployment is Deploying and its handle is not recorded yet.
type hangAfterDeploy struct{ *docker.Runtime }

func (h hangAfterDeploy) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if _, err := h.Runtime.Deploy(ctx, req, ui); err != nil {
		fmt.Println("ERROR", err)
		return nil, err
	}
	fmt.Println("DEPLOYED", req.DeploymentID)
	select {}
}

// runChild is the killed server: a deployments controller with its own
// lease, on the parent test's database.
func runChild(db string) {
	ctx := context.Background()
	st, err := store.Open(ctx, db, nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	rt := &docker.Runtime{StopTimeout: "1s"}
	if err := rt.Provision(ctx); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	svc, err := deploy.New(options(deploy.Options{Store: st, Holder: "child",
		Runtime: func(context.Context) (sdk.Runtime, error) { return hangAfterDeploy{rt}, nil }}))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	_ = svc.Run(ctx)
	os.Exit(1)
}

func TestKill9MidDeploying(t *testing.T) {
	e := newEnvWith(t, nil, false)
	p := e.project("public")
	d := e.deploy(p, httpd("after-kill"))

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+e.Store.Pool().Config().ConnString())
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "DEPLOYED "+d.ID {
			t.Fatalf("child server said %q", l)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the child server never deployed")
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = child.Wait()

	before := e.containers(p)
	if len(before) != 1 {
		t.Fatalf("%d containers after kill -9, want 1", len(before))
	}
	got, err := e.owner.Client.GetDeployment(context.Background(), p, d.ID)
	if err != nil || got.State != api.StateDeploying {
		t.Fatalf("after kill -9: %+v, %v", got, err)
	}
	var holder string
	if err := e.Store.Pool().QueryRow(context.Background(), `SELECT holder FROM controller_leases`).Scan(&holder); err != nil || !strings.HasPrefix(holder, "child") {
		t.Fatalf("lease holder after kill = %q, %v", holder, err)
	}

	// The restarted server waits out the dead leader's lease and resumes.
	e.stop = e.run(e.svc)
	e.wait(p, d.ID, api.StateHealthy)
	after := e.containers(p)
	if len(after) != 1 || after[0].ID != before[0].ID {
		t.Fatalf("%d containers after restart, want only the original", len(after))
	}
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "after-kill" {
		t.Fatalf("edge = %d %q", code, body)
	}
}
