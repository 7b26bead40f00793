package docker_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

// TestResolveOnlyOnTheConfiguredRegistry: Resolve signs tokens, so it must
// never send one to a host named in the reference, nor sign one for a
// repository outside the namespace.
func TestResolveOnlyOnTheConfiguredRegistry(t *testing.T) {
	reg := registrytest.StartRise(t)
	var hits atomic.Int32
	lis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(lis.Close)
	host := strings.TrimPrefix(lis.URL, "http://")
	port := reg.Addr[strings.LastIndex(reg.Addr, ":")+1:]
	for _, ref := range []string{
		host + "/rise/hello:v1",
		host + "/hello@sha256:" + strings.Repeat("a", 64),
		"localhost:" + port + "/rise/hello:v1", // another name of the same registry
		reg.Addr + "/other/hello:v1",           // outside the namespace
		reg.Addr + "/hello:v1",
	} {
		_, err := reg.Plugin.Resolve(context.Background(), ref)
		if err == nil || !errors.Is(err, sdk.ErrNotFound) || !sdk.IsPermanent(err) {
			t.Errorf("Resolve(%s) = %v, want a permanent not-found", ref, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the listener named in references received %d request(s)", n)
	}
}

// TestDeleteRepository deletes a project's images from a real registry:
// tags, manifests and blob links are gone; another project is untouched;
// deleting again (or a repository that never existed) succeeds.
func TestDeleteRepository(t *testing.T) {
	base := baseimage.Require(t, "docker")
	reg := registrytest.StartRise(t)
	cli := dockerCLI{t: t, config: t.TempDir()}
	ctx := context.Background()
	for _, p := range []string{"del-a", "del-b"} {
		creds := reg.Credentials(t, p, true, 0)
		if out, err := cli.login(creds); err != nil {
			t.Fatalf("login: %v: %s", err, out)
		}
		for _, tag := range []string{"v1", "v2"} {
			img := creds.Repository + ":" + tag
			if out, err := cli.run("", "tag", base, img); err != nil {
				t.Fatalf("tag: %v: %s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("docker", "rmi", img).Run() })
			if out, err := cli.run("", "push", img); err != nil {
				t.Fatalf("push %s: %v: %s", img, err, out)
			}
		}
	}
	art, err := reg.Plugin.Resolve(ctx, "del-a:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Plugin.DeleteRepository(ctx, "del-a"); err != nil {
		t.Fatalf("DeleteRepository: %v\n%s", err, reg.Logs())
	}
	for _, ref := range []string{"del-a:v1", "del-a:v2", reg.Addr + "/rise/del-a@" + art.Digest} {
		if _, err := reg.Plugin.Resolve(ctx, ref); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Resolve(%s) after delete = %v, want not found", ref, err)
		}
	}
	if _, err := reg.Plugin.Resolve(ctx, "del-b:v2"); err != nil {
		t.Errorf("the other project's image went too: %v", err)
	}
	// A later project of the same name cannot pull the old image.
	creds := reg.Credentials(t, "del-a", false, 0)
	if out, err := cli.login(creds); err != nil {
		t.Fatalf("login: %v: %s", err, out)
	}
	_ = exec.Command("docker", "rmi", creds.Repository+":v1", creds.Repository+":v2").Run()
	if out, err := cli.run("", "pull", reg.Addr+"/rise/del-a@"+art.Digest); err == nil {
		t.Errorf("pulled the deleted image by digest: %s", out)
	}
	for _, p := range []string{"del-a", "never-existed"} {
		if err := reg.Plugin.DeleteRepository(ctx, p); err != nil {
			t.Errorf("DeleteRepository(%s) again: %v", p, err)
		}
	}
	if err := reg.Plugin.DeleteRepository(ctx, "../etc"); err == nil || !sdk.IsPermanent(err) {
		t.Errorf("DeleteRepository(../etc) = %v", err)
	}
}
