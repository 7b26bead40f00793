package deploy_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/images"
)

// TestDeployFromTokenRegistry deploys an image that exists only in a real
// registry with token authentication: the server pins it to its digest and
// the Docker runtime pulls it with short-lived pull credentials.
func TestDeployFromTokenRegistry(t *testing.T) {
	reg := registrytest.StartRise(t)
	var pulls atomic.Int32
	e := newEnv(t, func(o *deploy.Options) {
		o.PullCredentials = func(ctx context.Context, project string) (*sdk.Credentials, error) {
			pulls.Add(1)
			return reg.Plugin.Credentials(ctx, &sdk.CredentialsRequest{Project: project, Subject: "rise-controller"})
		}
		o.Images = images.New(images.Options{Registry: reg.Plugin})
	})
	ctx := context.Background()
	p := e.project("public")
	ref := reg.Addr + "/rise/" + p + ":v1"
	push := reg.Credentials(t, p, true, 0)
	if err := e.docker.ImageTag(ctx, e.image, ref); err != nil {
		t.Fatal(err)
	}
	auth, _ := registry.EncodeAuthConfig(registry.AuthConfig{Username: push.Username, Password: push.Password, ServerAddress: push.Registry})
	rc, err := e.docker.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	checkProgress(t, rc)
	// Only the registry has it now.
	if _, err := e.docker.ImageRemove(ctx, ref, image.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}

	if _, err := e.owner.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: reg.Addr + "/rise/" + p + ":nope"}); api.StatusOf(err) != 404 {
		t.Fatalf("unknown tag: %v", err)
	}
	d, err := e.owner.Client.CreateDeployment(ctx, p, &api.CreateDeploymentRequest{Image: ref, Workload: httpd("pulled")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.ImageDigest, reg.Addr+"/rise/"+p+"@sha256:") {
		t.Fatalf("image not pinned: %+v", d)
	}
	e.wait(p, d.ID, api.StateHealthy)
	if code, body, _ := e.get(p, "/", nil); code != 200 || body != "pulled" {
		t.Fatalf("edge = %d %q", code, body)
	}
	cs := e.containers(p)
	if len(cs) != 1 || cs[0].Image != d.ImageDigest {
		t.Fatalf("container image = %v, want %s", cs, d.ImageDigest)
	}
	if pulls.Load() == 0 {
		t.Fatal("no pull credentials were requested")
	}
}

func checkProgress(t *testing.T, rc io.ReadCloser) {
	t.Helper()
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		if m.Error != "" {
			t.Fatalf("push: %s", m.Error)
		}
	}
}
