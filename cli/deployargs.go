package cli

import (
	"regexp"

	"github.com/riseplatform/rise/cli/exitcode"
)

// deploymentID matches rise deployment ids (20261123-142501, optionally
// with a suffix) and the rollback keyword.
var deploymentID = regexp.MustCompile(`^(\d{8}-\d{6}([-.][0-9a-z]+)?|previous)$`)

// projectAndID splits [PROJECT] [ID] arguments. A single argument that
// looks like a deployment id is the id, and the project comes from the
// current directory's rise.hcl / .rise.toml.
func projectAndID(args []string, needID bool) (project, id string, err error) {
	switch len(args) {
	case 2:
		project, id = args[0], args[1]
	case 1:
		if deploymentID.MatchString(args[0]) {
			id = args[0]
		} else {
			project = args[0]
		}
	}
	if project == "" {
		if project, err = projectArg(nil); err != nil {
			return "", "", err
		}
	}
	if needID && id == "" {
		return "", "", exitcode.Usagef("no deployment id given (ids look like 20261123-142501; see `rise deployment list %s`)", project)
	}
	return project, id, nil
}
