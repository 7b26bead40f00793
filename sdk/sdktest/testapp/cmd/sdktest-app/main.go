// Command sdktest-app is the runtime conformance kit's test workload (see
// package testapp). sdktest.AppBinary builds it as a static binary.
package main

import (
	"fmt"
	"os"

	"github.com/riseplatform/rise/sdk/sdktest/testapp"
)

func main() {
	err := testapp.Main()
	fmt.Fprintln(os.Stderr, "sdktest-app:", err)
	os.Exit(1)
}
