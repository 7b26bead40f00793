package cli

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/exitcode"
)

// deploymentID matches rise deployment ids (20261123-142501, optionally
// with a suffix) and the rollback keyword.
var deploymentID = regexp.MustCompile(`^(\d{8}-\d{6}([-.][0-9a-z]+)?|previous)$`)

// projectAndID splits [PROJECT] [ID] arguments. With -p/--project, a
// single argument is the id. A single argument that looks like a
// deployment id is the id, and the project comes from -p or the current
// directory's app config. PROJECT:ID (the reference rise's form) is both.
func projectAndID(cmd *cobra.Command, args []string, needID bool) (project, id string, err error) {
	flag := projectFlag(cmd)
	switch len(args) {
	case 2:
		project, id = args[0], args[1]
	case 1:
		if p, i, ok := strings.Cut(args[0], ":"); ok && p != "" && i != "" {
			project, id = p, i
		} else if flag != "" || deploymentID.MatchString(args[0]) {
			id = args[0]
		} else {
			project = args[0]
		}
	}
	if flag != "" && project != "" && project != flag {
		return "", "", exitcode.Usagef("project given twice: %q as an argument and %q with --project; pass one", project, flag)
	}
	if project == "" {
		if project, err = projectArg(cmd, nil); err != nil {
			return "", "", err
		}
	}
	if needID && id == "" {
		return "", "", exitcode.Usagef("no deployment id given (ids look like 20261123-142501; see `rise deployment list %s`)", project)
	}
	return project, id, nil
}
