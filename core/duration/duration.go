// Package duration parses the durations users type (--expire, the API's
// expire): Go's units plus days and weeks, the one parser for the CLI and
// the server.
package duration

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Parse reads a duration as Go does (90m, 2h30m) and with the
// reference rise's day and week units: 7d, 1w, 1w2d12h. Negative and zero
// durations are errors.
func Parse(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration")
	}
	var total time.Duration
	for in != "" {
		i := 0
		for i < len(in) && (in[i] >= '0' && in[i] <= '9' || in[i] == '.') {
			i++
		}
		j := i
		for j < len(in) && (in[j] < '0' || in[j] > '9') && in[j] != '.' {
			j++
		}
		num, unit := in[:i], in[i:j]
		in = in[j:]
		if num == "" || unit == "" {
			return 0, errors.New("use a number with a unit: s, m, h, d (days) or w (weeks), e.g. 2h, 7d or 1w")
		}
		var d time.Duration
		switch unit {
		case "d", "w":
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, errors.New("invalid number " + strconv.Quote(num))
			}
			day := 24 * time.Hour
			if unit == "w" {
				day *= 7
			}
			d = time.Duration(n * float64(day))
		default:
			var err error
			if d, err = time.ParseDuration(num + unit); err != nil {
				return 0, errors.New("unknown unit " + strconv.Quote(unit) + ": use s, m, h, d (days) or w (weeks), e.g. 2h, 7d or 1w")
			}
		}
		total += d
	}
	if total <= 0 {
		return 0, errors.New("the duration must be positive")
	}
	return total, nil
}
