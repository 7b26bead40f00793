package sdk_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// twinBuilder and twinRuntime share the name "twin": ValidateConfig must
// reach the one of the kind asked for.
type twinBuilder struct {
	Dockerfile string `hcl:"dockerfile,optional"`
}

func (b *twinBuilder) Validate() error {
	if b.Dockerfile == "" {
		return sdk.AttrError("dockerfile", errors.New("dockerfile is required"))
	}
	return nil
}

func (b *twinBuilder) Build(context.Context, *sdk.BuildRequest, sdk.UI) (*sdk.Artifact, error) {
	return &sdk.Artifact{}, nil
}
func (b *twinBuilder) Detect(context.Context, string) (*sdk.Detection, error) {
	return &sdk.Detection{}, nil
}

var twinCleanups atomic.Int64

type twinRuntime struct {
	TokenTTL string `hcl:"token_ttl,optional"`
}

func (r *twinRuntime) Validate() error {
	if r.TokenTTL == "soon" {
		return sdk.AttrError("token_ttl", errors.New(`token_ttl "soon" is not a duration`))
	}
	return nil
}
func (r *twinRuntime) Cleanup() error { twinCleanups.Add(1); return nil }
func (r *twinRuntime) Deploy(_ context.Context, req *sdk.DeployRequest, _ sdk.UI) (*sdk.Deployment, error) {
	return &sdk.Deployment{ID: req.DeploymentID}, nil
}
func (r *twinRuntime) Status(context.Context, *sdk.Deployment) (*sdk.Status, error) {
	return &sdk.Status{Health: sdk.HealthHealthy}, nil
}
func (r *twinRuntime) Stop(context.Context, *sdk.Deployment, sdk.UI) error { return nil }

func twinPlugin() sdk.Plugin {
	return sdk.Plugin{Name: "twin", Components: []sdk.Component{
		{Name: "twin", New: func() any { return &twinBuilder{} }},
		{Name: "twin", New: func() any { return &twinRuntime{} }},
	}}
}

func TestValidateConfigCarriesKindAndPaths(t *testing.T) {
	c := sdktest.Connect(t, twinPlugin())
	ctx := context.Background()
	ds, err := c.ValidateConfig(ctx, sdk.ComponentID{Kind: sdk.KindBuilder, Name: "twin"}, []byte(`{}`))
	if err != nil || len(ds) != 1 || !slices.Equal(ds[0].Path, []string{"dockerfile"}) {
		t.Errorf("builder twin: %+v, %v", ds, err)
	}
	ds, err = c.ValidateConfig(ctx, sdk.ComponentID{Kind: sdk.KindRuntime, Name: "twin"}, []byte(`{}`))
	if err != nil || len(ds) != 0 {
		t.Errorf("runtime twin, valid: %+v, %v", ds, err)
	}
	ds, err = c.ValidateConfig(ctx, sdk.ComponentID{Kind: sdk.KindRuntime, Name: "twin"}, []byte(`{"token_ttl":"soon"}`))
	if err != nil || len(ds) != 1 || !slices.Equal(ds[0].Path, []string{"token_ttl"}) || ds[0].Detail != `token_ttl "soon" is not a duration` {
		t.Errorf("runtime twin, invalid: %+v, %v", ds, err)
	}
	if _, err := c.ValidateConfig(ctx, sdk.ComponentID{Kind: sdk.KindRegistry, Name: "twin"}, nil); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("registry twin: want ErrNotFound, got %v", err)
	}
}

func TestCleanupWhenPluginShutsDown(t *testing.T) {
	before := twinCleanups.Load()
	t.Run("serve", func(t *testing.T) {
		rt := sdktest.Connect(t, twinPlugin()).Runtime("twin", nil)
		if _, err := rt.Status(context.Background(), &sdk.Deployment{}); err != nil {
			t.Fatal(err)
		}
		if n := twinCleanups.Load() - before; n != 0 {
			t.Errorf("Cleanup ran %d times while the instance is cached", n)
		}
	}) // the plugin shuts down here
	if n := twinCleanups.Load() - before; n != 1 {
		t.Errorf("Cleanup ran %d times at shutdown, want 1", n)
	}
}
