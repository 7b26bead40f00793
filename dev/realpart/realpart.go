// Package realpart is the one switch that decides what a test does when a
// real part it needs (PostgreSQL, the registry, Dex, the Docker Engine,
// Kubernetes, Pebble, Chromium, Caddy…) is missing on this machine.
//
// With RISE_REQUIRE_REAL=1 (set by `make test`, and so by CI) a missing part
// fails the test, naming the part and how to install it. Without it (`make
// unit`, a plain `go test`) the test is skipped with a message in a fixed
// form, "real part missing: <part>: <reason>", that the skip summary of
// dev/cmd/testrun counts by part.
//
//	if err := findPebble(); err != nil {
//		realpart.Missing(t, "Pebble", err)
//	}
package realpart

import (
	"fmt"
	"os"
	"testing"
)

// Env is the environment variable that makes a missing real part a failure.
const Env = "RISE_REQUIRE_REAL"

// SkipPrefix starts the skip message of a missing part.
const SkipPrefix = "real part missing: "

// Required reports whether a missing real part must fail the test.
func Required() bool {
	v := os.Getenv(Env)
	return v != "" && v != "0"
}

// Missing stops the test because part cannot be used here: it fails under
// RISE_REQUIRE_REAL=1 and skips otherwise. err says why (and, ideally, how
// to install the part); it is printed on one line first, details after.
func Missing(t testing.TB, part string, err error) {
	t.Helper()
	msg := SkipPrefix + part + ": " + fmt.Sprint(err)
	if Required() {
		t.Fatalf("%s\n(%s=1: every real part is required; `make unit` or a plain `go test` skips instead)", msg, Env)
	}
	t.Skip(msg)
}
