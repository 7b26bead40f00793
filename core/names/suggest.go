package names

import (
	"cmp"
	"slices"
	"strings"
)

// maxSuggestions bounds what Suggest returns.
const maxSuggestions = 3

// Suggest returns the candidates that input plausibly misspells, best first
// (at most three): those within an edit distance that grows with the input's
// length (1 for up to 5 characters, 2 up to 8, then a third of the length),
// counting a swap of two neighbouring characters as one edit and ignoring
// case; then candidates that start with input (3+ characters). Ties keep the
// candidates' order. It returns nil when nothing is close.
func Suggest(input string, candidates []string) []string {
	in := strings.ToLower(input)
	if in == "" {
		return nil
	}
	limit := threshold(len([]rune(in)))
	type match struct {
		name  string
		score int // edit distance; prefix matches rank after all of them
		pos   int
	}
	var ms []match
	seen := map[string]bool{}
	for i, c := range candidates {
		if c == "" || seen[c] {
			continue
		}
		lc := strings.ToLower(c)
		d := distance(in, lc, limit)
		switch {
		case d <= limit:
		case len(in) >= 3 && strings.HasPrefix(lc, in):
			d = limit + 1
		default:
			continue
		}
		seen[c] = true
		ms = append(ms, match{c, d, i})
	}
	slices.SortStableFunc(ms, func(a, b match) int { return cmp.Compare(a.score, b.score) })
	var out []string
	for _, m := range ms[:min(len(ms), maxSuggestions)] {
		out = append(out, m.name)
	}
	return out
}

func threshold(n int) int {
	switch {
	case n <= 5:
		return 1
	case n <= 8:
		return 2
	default:
		return n / 3
	}
}

// distance is the optimal-string-alignment (restricted Damerau-Levenshtein)
// distance between a and b, counted in runes. It gives up early and returns
// limit+1 once the distance must exceed limit.
func distance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if abs(len(ra)-len(rb)) > limit {
		return limit + 1
	}
	// Three rolling rows: i-2, i-1, i.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(rb)], limit+1)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
