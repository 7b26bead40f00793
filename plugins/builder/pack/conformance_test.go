package pack_test

import (
	"testing"

	packbuilder "github.com/riseplatform/rise/plugins/builder/pack"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// TestConformance runs the SDK's builder suite in-process. No real pack
// build can run here (builder images come from Docker Hub).
func TestConformance(t *testing.T) {
	sdktest.BuilderConformance(t, packbuilder.Component(), map[string]any{"builder": "paketobuildpacks/builder-jammy-base"},
		sdktest.WithInvalidConfig(map[string]any{"pull_policy": "sometimes"}))
}
