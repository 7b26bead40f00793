package build

import "github.com/riseplatform/rise/sdk"

type sdkBuilder = sdk.Builder
