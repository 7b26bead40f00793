// Package benchbudget is how rise's benchmarks state their result: every
// benchmark measures rise and its reference in the same run, interleaved,
// and prints one line
//
//	BenchmarkName ratio=R budget=B
//
// that `make bench-check` (dev/cmd/benchcheck) compares. The budgets are
// listed in docs/development.md.
package benchbudget

import (
	"fmt"
	"testing"
)

// None is the budget of a ratio that is reported but not checked.
const None = 0

// Report records ratio (rise ÷ reference; lower is better) as the
// benchmark's "ratio" metric and prints the line bench-check reads.
func Report(b *testing.B, ratio, budget float64) {
	b.Helper()
	b.ReportMetric(ratio, "ratio")
	fmt.Println(Line(b.Name(), ratio, budget))
}

// Line is the text of the line Report prints.
func Line(name string, ratio, budget float64) string {
	if budget == None {
		return fmt.Sprintf("%s ratio=%.3f budget=none", name, ratio)
	}
	return fmt.Sprintf("%s ratio=%.3f budget=%.2f", name, ratio, budget)
}
