package docker

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/riseplatform/rise/sdk"
)

// deployApp deploys busybox httpd serving body for project p.
func deployApp(t *testing.T, r *Runtime, img, p, id, body string) (*sdk.Deployment, container.InspectResponse) {
	t.Helper()
	d, err := r.Deploy(context.Background(), &sdk.DeployRequest{
		DeploymentID: id, Project: p,
		Artifact: sdk.Artifact{Repository: strings.Split(img, ":")[0], Tag: "busybox"},
		Workload: sdk.Workload{Port: 8080, HealthPath: "/", Command: httpdApp(body)},
	}, nil)
	if err != nil {
		t.Fatalf("deploy %s/%s: %v", p, id, err)
	}
	waitHealth(t, r, d, sdk.HealthHealthy)
	info, err := r.cli.ContainerInspect(context.Background(), ContainerName(p, id))
	if err != nil {
		t.Fatal(err)
	}
	return d, info
}

// execIn runs cmd in container id and returns its exit code and output.
func execIn(t *testing.T, r *Runtime, id string, cmd ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ex, err := r.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatalf("exec create: %v", err)
	}
	hj, err := r.cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatalf("exec attach: %v", err)
	}
	defer hj.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, hj.Reader); err != nil {
		t.Fatalf("exec output: %v", err)
	}
	res, err := r.cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		t.Fatalf("exec inspect: %v", err)
	}
	return res.ExitCode, strings.TrimSpace(out.String())
}

// fetch is a wget of url in container id, given up after 3 s (busybox's
// own wget -T crashes in the Debian build). Exit 124 means timed out.
func fetch(t *testing.T, r *Runtime, id, url string) (int, string) {
	t.Helper()
	script := `wget -q -O- "$1" & p=$!; i=0
while kill -0 $p 2>/dev/null; do i=$((i+1)); if [ $i -ge 30 ]; then kill $p; exit 124; fi; usleep 100000; done
wait $p`
	return execIn(t, r, id, "/bin/sh", "-c", script, "fetch", url)
}

func ipOn(t *testing.T, info container.InspectResponse, net string) string {
	t.Helper()
	ep := info.NetworkSettings.Networks[net]
	if ep == nil || ep.IPAddress == "" {
		t.Fatalf("container %s is not on network %s: %v", info.Name, net, info.NetworkSettings.Networks)
	}
	return ep.IPAddress
}

// TestProjectIsolation is what another team's app would try: fetch a
// private app directly at its container address (bypassing the edge, which
// checks access and sets X-Rise-User), and reach rise's services on the
// host through the bridge gateway. Both must fail, while the project's own
// replicas (the positive control) and the edge's upstream keep working.
func TestProjectIsolation(t *testing.T) {
	r, img := newRuntime(t)
	ctx := context.Background()
	pA, pB := project(t), project(t)

	_, a := deployApp(t, r, img, pA, "20261205-000001", "secret-of-a")
	_, b1 := deployApp(t, r, img, pB, "20261205-000002", "b-one")
	dB2, b2 := deployApp(t, r, img, pB, "20261205-000003", "b-two")
	aIP := ipOn(t, a, NetworkName(pA))
	b2IP := ipOn(t, b2, NetworkName(pB))

	// The edge still reaches B through the published loopback port.
	if code, body := get(t, dB2.Upstreams[0]+"/"); code != 200 || body != "b-two" {
		t.Fatalf("edge upstream = %d %q", code, body)
	}
	// Positive control: B's replicas reach each other.
	if code, out := fetch(t, r, b1.ID, "http://"+b2IP+":8080/"); code != 0 || out != "b-two" {
		t.Fatalf("replica to replica: exit %d, %q", code, out)
	}
	// Attack 1: B fetches A's private app at its container address.
	if code, out := fetch(t, r, b1.ID, "http://"+aIP+":8080/"); code == 0 || strings.Contains(out, "secret-of-a") {
		t.Fatalf("project %s reached project %s's container %s: exit %d, %q", pB, pA, aIP, code, out)
	}

	// Attack 2: B reaches a service on the host via its network's gateway.
	n, err := r.cli.NetworkInspect(ctx, NetworkName(pB), network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[LabelManaged] != "true" || n.Labels[LabelProject] != pB {
		t.Fatalf("network labels = %v", n.Labels)
	}
	if len(n.IPAM.Config) == 0 || n.IPAM.Config[0].Gateway == "" {
		t.Fatalf("network %s has no gateway: %+v", n.Name, n.IPAM)
	}
	gw := n.IPAM.Config[0].Gateway
	ln, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "host-service") })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	hostURL := "http://" + ln.Addr().String() + "/"
	if code, body := get(t, hostURL); code != 200 || body != "host-service" { // control: it serves
		t.Fatalf("host listener = %d %q", code, body)
	}
	if code, out := fetch(t, r, b1.ID, hostURL); code == 0 || strings.Contains(out, "host-service") {
		t.Fatalf("project %s reached the host's %s: exit %d, %q", pB, hostURL, code, out)
	}

	// The metadata range is dropped before it leaves the host (no traffic
	// is sent to it from the test: the rule is checked instead).
	rules, err := exec.Command("iptables", "-w", "-S", chainForward).CombinedOutput()
	if err != nil || !strings.Contains(string(rules), "-d 169.254.0.0/16 -j DROP") {
		t.Fatalf("%s rules lack the metadata range: %v\n%s", chainForward, err, rules)
	}
}

// TestContainerHardening: no-new-privileges, capabilities dropped to the
// default set (no NET_RAW), a pids limit and the default memory limit, as
// seen from inside the container.
func TestContainerHardening(t *testing.T) {
	r, img := newRuntime(t)
	p := project(t)
	_, info := deployApp(t, r, img, p, "20261205-000004", "x")
	hc := info.HostConfig
	if !slices.Contains(hc.SecurityOpt, "no-new-privileges") || !slices.Equal(hc.CapDrop, []string{"ALL"}) {
		t.Fatalf("security opts %v, cap drop %v", hc.SecurityOpt, hc.CapDrop)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != 512 || hc.Memory != 512<<20 {
		t.Fatalf("pids limit %v, memory %d", hc.PidsLimit, hc.Memory)
	}
	_, status := execIn(t, r, info.ID, "cat", "/proc/self/status")
	if !strings.Contains(status, "NoNewPrivs:\t1") {
		t.Fatalf("no-new-privileges not in effect:\n%s", status)
	}
	// CapBnd of the default set: CHOWN(0) DAC_OVERRIDE(1) FOWNER(3) KILL(5)
	// SETGID(6) SETUID(7) NET_BIND_SERVICE(10) = 0x4eb; NET_RAW (13) gone.
	if !strings.Contains(status, "CapBnd:\t00000000000004eb") {
		t.Fatalf("capability bounding set is not the default set:\n%s", status)
	}
	if code, _ := execIn(t, r, info.ID, "ping", "-c", "1", "-W", "1", "127.0.0.1"); code == 0 {
		t.Fatal("ping (raw socket) works without NET_RAW")
	}
}

// TestForeignNetworkRefused: a network named like a project's that rise
// did not create (someone else's, maybe shared) is never joined.
func TestForeignNetworkRefused(t *testing.T) {
	r, img := newRuntime(t)
	p := project(t)
	ctx := context.Background()
	if _, err := r.cli.NetworkCreate(ctx, NetworkName(p), network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cli.NetworkRemove(context.Background(), NetworkName(p)) })
	_, err := r.Deploy(ctx, &sdk.DeployRequest{
		DeploymentID: "20261205-000005", Project: p,
		Artifact: sdk.Artifact{Repository: strings.Split(img, ":")[0], Tag: "busybox"},
		Workload: sdk.Workload{Port: 8080, Command: httpdApp("x")},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "not created by rise") || !sdk.IsPermanent(err) {
		t.Fatalf("deploy onto a foreign network: %v", err)
	}
	// Destroy leaves the foreign network alone.
	if err := r.Destroy(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.cli.NetworkInspect(ctx, NetworkName(p), network.InspectOptions{}); err != nil {
		t.Fatalf("destroy removed a network rise did not create: %v", err)
	}
}
