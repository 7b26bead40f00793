package main

import (
	"strings"
	"testing"

	"github.com/riseplatform/rise/dev/benchbudget"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
		want     string
	}{
		{"within", benchbudget.Line("BenchmarkA", 1.05, 1.0) + "\n" + benchbudget.Line("BenchmarkI", 9, benchbudget.None) + "\n", true, "ok     BenchmarkA"},
		{"over", "goos: linux\n" + benchbudget.Line("BenchmarkA", 1.2, 1.0) + "\nok  \tpkg\t1s\n", false, "OVER   BenchmarkA ratio=1.200 > budget 1.00 + 10% = 1.100"},
		{"failed", benchbudget.Line("BenchmarkA", 0.5, 1.0) + "\n--- FAIL: BenchmarkB\nFAIL\tpkg\t1s\n", false, "FAIL   --- FAIL: BenchmarkB"},
		{"nothing ran", "PASS\n", false, "no `name ratio=R budget=B` line"},
	} {
		got, ok := check(strings.NewReader(tc.in), 0.10)
		if ok != tc.ok || !strings.Contains(got, tc.want) {
			t.Errorf("%s: ok=%v\n%s\nwant ok=%v and %q", tc.name, ok, got, tc.ok, tc.want)
		}
	}
}
