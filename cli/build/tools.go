package build

import (
	"fmt"
	"os/exec"

	"github.com/riseplatform/rise/sdk"
)

// detectTools names the program a builder runs, for builders whose detection
// does not depend on it being installed (pack says OK for any directory). A
// builder whose program is missing on this machine still detects, but below
// every builder that can actually run here; so a static site goes to pack or
// railpack where they are installed and to the docker builder's static-site
// fallback otherwise.
var detectTools = map[string]string{"pack": "pack", "railpack": "railpack"}

// lookPath finds programs; replaced in tests.
var lookPath = exec.LookPath

// demoteUnrunnable lowers an OK detection of a builder whose program is not
// installed below any runnable builder's, and says so in its reason.
func demoteUnrunnable(name string, d *sdk.Detection) {
	tool, ok := detectTools[name]
	if !ok || !d.OK {
		return
	}
	if _, err := lookPath(tool); err == nil {
		return
	}
	d.Confidence = -1
	if d.Reason != "" {
		d.Reason += "; "
	}
	d.Reason += fmt.Sprintf("`%s` is not installed", tool)
}
