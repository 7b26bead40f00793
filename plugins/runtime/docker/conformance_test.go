package docker

import (
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

func TestRuntimeConformance(t *testing.T) {
	img := baseimage.Require(t, "docker")
	p := project(t)
	sdktest.RuntimeConformance(t, Component(), map[string]any{"stop_timeout": "1s"},
		sdktest.WithProject(p),
		sdktest.WithTimeout(60*time.Second),
		sdktest.WithDeployRequest(func(id string) *sdk.DeployRequest {
			return &sdk.DeployRequest{DeploymentID: id, Project: p, Group: "default", Visibility: "public",
				Artifact: sdk.Artifact{Repository: strings.Split(img, ":")[0], Tag: "busybox"},
				Workload: sdk.Workload{Port: 8080, Replicas: 1, HealthPath: "/", Command: httpdApp("conformance")}}
		}))
}
