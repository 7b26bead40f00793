package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fargateCPU are the Fargate task CPU sizes (units of 1/1024 vCPU) and the
// smallest memory (MiB) each allows.
var fargateCPU = []struct{ cpu, minMem, maxMem int }{
	{256, 512, 2048}, {512, 1024, 4096}, {1024, 2048, 8192}, {2048, 4096, 16384},
	{4096, 8192, 30720}, {8192, 16384, 61440}, {16384, 32768, 122880},
}

// taskSize turns CPU and memory in Kubernetes notation ("500m", "0.5",
// "512Mi", "1Gi") or ECS notation ("512" CPU units, "1024" MiB) into the
// smallest valid Fargate size that holds them. Empty means the smallest.
func taskSize(cpu, mem string) (units, mib int, err error) {
	units, err = parseCPU(cpu)
	if err != nil {
		return 0, 0, err
	}
	mib, err = parseMemory(mem)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range fargateCPU {
		if f.cpu < units || f.maxMem < mib {
			continue
		}
		m := max(mib, f.minMem)
		if m > 512 {
			m = (m + 1023) / 1024 * 1024 // Fargate memory above 512 MiB comes in GiB steps
		}
		return f.cpu, m, nil
	}
	return 0, 0, fmt.Errorf("ecs: no Fargate task size has %d CPU units and %d MiB (the largest is 16 vCPU / 120 GiB)", units, mib)
}

func parseCPU(s string) (int, error) {
	switch {
	case s == "":
		return 256, nil
	case strings.HasSuffix(s, "m"):
		m, err := strconv.Atoi(strings.TrimSuffix(s, "m"))
		if err != nil || m <= 0 {
			return 0, fmt.Errorf("ecs: cpu %q: expected millicores like \"500m\"", s)
		}
		return int(math.Ceil(float64(m) * 1024 / 1000)), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || f <= 0:
		return 0, fmt.Errorf("ecs: cpu %q: expected vCPUs (\"0.5\"), millicores (\"500m\") or CPU units (\"512\")", s)
	case f < 128: // vCPUs (Fargate has 0.25 to 16)
		return int(math.Ceil(f * 1024)), nil
	default: // CPU units (256 to 16384)
		return int(math.Ceil(f)), nil
	}
}

func parseMemory(in string) (int, error) {
	s := in
	if s == "" {
		return 512, nil
	}
	units := []struct {
		suffix string
		mib    float64
	}{{"Gi", 1024}, {"Mi", 1}, {"Ki", 1.0 / 1024}, {"G", 1e9 / (1 << 20)}, {"M", 1e6 / (1 << 20)}}
	mult := 1.0 // plain numbers are MiB, as in ECS
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mib
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("ecs: memory %q: expected e.g. \"512Mi\", \"1Gi\" or MiB (\"1024\")", in)
	}
	return int(math.Ceil(f * mult)), nil
}
