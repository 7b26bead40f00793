package docker

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/baseimage"
	"github.com/riseplatform/rise/dev/benchbudget"
	"github.com/riseplatform/rise/dev/registrytest"
	"github.com/riseplatform/rise/sdk"
)

// buildPushPairs is how many (manual, rise) pairs one iteration runs.
const buildPushPairs = 5

// BenchmarkBuildPushOverhead compares a warm-cache build+push through the
// docker builder with the same `docker build` + `docker push` run by hand
// (already logged in), in pairs whose order alternates. Budget: ratio ≤ 1.2
// (docs/development.md).
//
//	go test ./plugins/builder/docker -run '^$' -bench BuildPushOverhead -benchtime 1x
func BenchmarkBuildPushOverhead(b *testing.B) {
	base := baseimage.Require(b, "docker")
	reg := registrytest.StartRise(b)
	creds := reg.Credentials(b, "bench", true, time.Hour)
	dir := b.TempDir()
	writeBenchApp(b, dir)
	target := creds.Repository + ":bench"
	b.Cleanup(func() { _ = exec.Command("docker", "rmi", target).Run() })

	cfg := b.TempDir()
	docker := func(stdin string, args ...string) {
		cmd := exec.Command("docker", append([]string{"--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("docker %s: %v: %s", args[0], err, out)
		}
	}
	docker(creds.Password, "login", "--username", creds.Username, "--password-stdin", creds.Registry)
	manual := func() {
		docker("", "build", "--file", dir+"/Dockerfile", "--tag", target, "--build-arg", "BASE="+base, dir)
		docker("", "push", target)
	}
	rise := func() {
		_, err := new(Builder).Build(context.Background(), &sdk.BuildRequest{
			Dir: dir, Image: target, BuildArgs: map[string]string{"BASE": base},
			Target: &sdk.PushTarget{Image: target, Credentials: creds},
		}, &recUI{})
		if err != nil {
			b.Fatal(err)
		}
	}
	manual() // warm the cache and the registry
	rise()
	var tManual, tRise time.Duration
	b.ResetTimer()
	timed := func(f func(), total *time.Duration) {
		start := time.Now()
		f()
		*total += time.Since(start)
	}
	for i := 0; i < b.N*buildPushPairs; i++ {
		if i%2 == 0 {
			timed(manual, &tManual)
			timed(rise, &tRise)
		} else {
			timed(rise, &tRise)
			timed(manual, &tManual)
		}
	}
	b.StopTimer()
	n := float64(b.N * buildPushPairs)
	b.ReportMetric(float64(tManual.Milliseconds())/n, "manual-ms/op")
	b.ReportMetric(float64(tRise.Milliseconds())/n, "rise-ms/op")
	benchbudget.Report(b, float64(tRise)/float64(tManual), 1.2)
}

func writeBenchApp(b *testing.B, dir string) {
	b.Helper()
	if err := writeFile(dir+"/Dockerfile", testDockerfile); err != nil {
		b.Fatal(err)
	}
}
