package railpack_test

import (
	"testing"

	railpackbuilder "github.com/riseplatform/rise/plugins/builder/railpack"
	"github.com/riseplatform/rise/sdk/sdktest"
)

// TestConformance runs the SDK's builder suite in-process. No real railpack
// build can run here (railpack downloads mise from GitHub at run time).
func TestConformance(t *testing.T) {
	sdktest.BuilderConformance(t, railpackbuilder.Component(), map[string]any{"buildctl": true},
		sdktest.WithInvalidConfig(map[string]any{"buildctl": true, "buildx": true}))
}
