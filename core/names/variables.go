package names

import (
	"fmt"
	"regexp"
	"strings"
)

// Limits of project variables.
const (
	MaxVariableName  = 255
	MaxVariableValue = 64 << 10 // 64 KiB
	MaxVariables     = 300      // per project (and scope)
)

var variableRE = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// ReservedVariablePrefix starts the variables rise sets itself.
const ReservedVariablePrefix = "RISE_"

// ValidateVariable checks a project variable's name and value: names like
// DATABASE_URL (uppercase letters, digits, '_'; not starting with a digit),
// neither RISE_* nor PORT (rise sets them), values up to 64 KiB without NUL
// bytes. The message never contains the value.
func ValidateVariable(name, value string) error {
	if err := ValidateVariableName(name); err != nil {
		return err
	}
	switch {
	case len(value) > MaxVariableValue:
		return fmt.Errorf("the value of %s is %d bytes; values are at most 64 KiB", name, len(value))
	case strings.IndexByte(value, 0) >= 0:
		return fmt.Errorf("the value of %s contains a NUL byte, which environment variables cannot hold", name)
	}
	return nil
}

// ValidateVariableName checks a variable name (see ValidateVariable).
func ValidateVariableName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty variable name")
	case len(name) > MaxVariableName:
		return fmt.Errorf("variable name %.40q... is longer than %d characters", name, MaxVariableName)
	case !variableRE.MatchString(name):
		return fmt.Errorf("invalid variable name %q: use uppercase letters, digits and '_', not starting with a digit (like DATABASE_URL)", name)
	case strings.HasPrefix(name, ReservedVariablePrefix):
		return fmt.Errorf("%s is reserved: rise sets RISE_PROJECT, RISE_DEPLOYMENT_ID, RISE_DEPLOYMENT_GROUP and RISE_APP_URL itself", name)
	case name == "PORT":
		return fmt.Errorf("PORT is reserved: rise sets it to the deploy port (deploy { port = ... } in rise.hcl, or --port)")
	}
	return nil
}
