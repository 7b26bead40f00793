// Command rise is the rise CLI (and, once wired, the server and the
// built-in plugins) in one binary.
package main

import (
	"os"

	"github.com/riseplatform/rise/cli"
)

func main() {
	os.Exit(cli.Main())
}
