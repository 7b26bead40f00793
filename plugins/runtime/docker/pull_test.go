package docker

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

// TestCachedImageOfAnotherProject: project A's image is in the engine's
// cache (it was built and pushed here). Project B deploying it by digest
// with B's own pull credentials must fail: the registry, not the cache,
// decides. Project A itself deploys it (the control).
func TestCachedImageOfAnotherProject(t *testing.T) {
	r, img := newRuntime(t)
	ctx := context.Background()
	reg := registrytest.StartRise(t)
	pA, pB := project(t), project(t)
	push := reg.Credentials(t, pA, true, 0)

	ref := push.Repository + ":v1"
	if err := r.cli.ImageTag(ctx, img, ref); err != nil {
		t.Fatal(err)
	}
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: push.Username, Password: push.Password, ServerAddress: push.Registry})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.cli.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err == nil {
		err = pullResult(rc)
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	info, err := r.cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var digest string
	for _, d := range info.RepoDigests {
		if strings.HasPrefix(d, push.Repository+"@") {
			digest = strings.TrimPrefix(d, push.Repository+"@")
		}
	}
	t.Cleanup(func() {
		for _, x := range []string{ref, push.Repository + "@" + digest} {
			_, _ = r.cli.ImageRemove(context.Background(), x, image.RemoveOptions{})
		}
	})
	if digest == "" {
		t.Fatalf("no digest for %s in %v", ref, info.RepoDigests)
	}
	req := func(p string, creds *sdk.Credentials) *sdk.DeployRequest {
		return &sdk.DeployRequest{DeploymentID: "20261205-000010", Project: p,
			Artifact:        sdk.Artifact{Repository: push.Repository, Digest: digest},
			Workload:        sdk.Workload{Port: 8080, Command: httpdApp("a")},
			PullCredentials: creds}
	}

	_, err = r.Deploy(ctx, req(pB, reg.Credentials(t, pB, false, 0)), nil)
	if err == nil {
		t.Fatalf("project %s ran project %s's cached image with its own credentials", pB, pA)
	}
	if n := len(containersOf(t, r, pB)); n != 0 {
		t.Fatalf("%d containers of %s", n, pB)
	}
	if strings.Contains(err.Error(), push.Password) {
		t.Fatal("error leaks the credentials")
	}
	if _, err := r.Deploy(ctx, req(pA, reg.Credentials(t, pA, false, 0)), nil); err != nil {
		t.Fatalf("project %s deploying its own image: %v", pA, err)
	}
}
