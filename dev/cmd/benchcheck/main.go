// Command benchcheck reads the output of `make bench` and fails when a
// benchmark's ratio exceeds its budget by more than the tolerance, when a
// benchmark failed, or when no budget line was printed at all.
//
//	benchcheck [-tolerance 0.10] [file]   (default: standard input)
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// budgetLine is what dev/benchbudget prints.
var budgetLine = regexp.MustCompile(`^(\S+) ratio=([0-9.]+) budget=([0-9.]+|none)$`)

func main() {
	tol := flag.Float64("tolerance", 0.10, "allowed excess over a budget, as a fraction (0.10 = 10%)")
	flag.Parse()
	in := io.Reader(os.Stdin)
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintf(os.Stderr, "benchcheck: %v\n", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	report, ok := check(in, *tol)
	fmt.Print(report)
	if !ok {
		os.Exit(1)
	}
}

// check returns a report, one line per budget, and whether all held.
func check(in io.Reader, tol float64) (string, bool) {
	var b strings.Builder
	ok, n := true, 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "FAIL\t") {
			fmt.Fprintf(&b, "FAIL   %s\n", line)
			ok = false
			continue
		}
		m := budgetLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n++
		ratio, _ := strconv.ParseFloat(m[2], 64)
		if m[3] == "none" {
			fmt.Fprintf(&b, "info   %s ratio=%.3f (no budget)\n", m[1], ratio)
			continue
		}
		budget, _ := strconv.ParseFloat(m[3], 64)
		limit := budget * (1 + tol)
		if ratio > limit {
			fmt.Fprintf(&b, "OVER   %s ratio=%.3f > budget %.2f + %.0f%% = %.3f\n", m[1], ratio, budget, tol*100, limit)
			ok = false
		} else {
			fmt.Fprintf(&b, "ok     %s ratio=%.3f ≤ budget %.2f + %.0f%%\n", m[1], ratio, budget, tol*100)
		}
	}
	if n == 0 {
		b.WriteString("FAIL   no `name ratio=R budget=B` line found: did the benchmarks run?\n")
		ok = false
	}
	return b.String(), ok
}
