package docker

import (
	"fmt"
	"strconv"
	"strings"
)

// memoryBytes parses Kubernetes-style quantities: 512Mi, 1Gi, 500M, 1048576.
func memoryBytes(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
	}
	num, mult := s, int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("memory %q: want a quantity like 256Mi or 1Gi", s)
	}
	return int64(f * float64(mult)), nil
}

// nanoCPUs parses CPU quantities: 500m, 0.5, 2.
func nanoCPUs(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if m, ok := strings.CutSuffix(s, "m"); ok {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("cpu %q: want a quantity like 500m or 1.5", s)
		}
		return n * 1e6, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("cpu %q: want a quantity like 500m or 1.5", s)
	}
	return int64(f * 1e9), nil
}
