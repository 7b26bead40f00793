package docker

import (
	"reflect"
	"strings"
	"testing"

	"github.com/riseplatform/rise/sdk/buildtool"
)

func TestBuildCommandGolden(t *testing.T) {
	cases := []struct {
		name string
		b    Builder
		tags []string
		plat string
		args map[string]string
		nc   bool
		push bool
		want string
	}{
		{"plain", Builder{}, []string{"app:1"}, "", nil, false, false,
			"build --force-rm --file /src/Dockerfile --tag app:1 /src"},
		{"everything", Builder{Context: "sub", Target: "prod"}, []string{"app:1", "r:5000/rise/app:1"}, "linux/arm64",
			map[string]string{"B": "2", "A": "1"}, true, true,
			"build --force-rm --file /src/Dockerfile --tag app:1 --tag r:5000/rise/app:1 --platform linux/arm64 --build-arg A=1 --build-arg B=2 --target prod --no-cache /src/sub"},
		{"buildx load", Builder{Buildx: true}, []string{"app:1"}, "", nil, false, false,
			"buildx build --file /src/Dockerfile --tag app:1 --load --progress plain /src"},
		{"buildx push", Builder{Buildx: true}, []string{"r/app:1"}, "linux/amd64", nil, true, true,
			"buildx build --file /src/Dockerfile --tag r/app:1 --platform linux/amd64 --no-cache --push --metadata-file /m.json --progress plain /src"},
	}
	for _, c := range cases {
		got := strings.Join(c.b.buildCommand("/src", "Dockerfile", c.tags, c.plat, c.args, c.nc, c.push, "/m.json"), " ")
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestMergeArgsRequestWins(t *testing.T) {
	got := mergeArgs(map[string]string{"A": "cfg", "B": "cfg"}, map[string]string{"B": "req"})
	if !reflect.DeepEqual(got, map[string]string{"A": "cfg", "B": "req"}) {
		t.Fatal(got)
	}
}

func TestRefHelpers(t *testing.T) {
	for ref, want := range map[string][2]string{
		"127.0.0.1:5000/rise/app:v1": {"127.0.0.1:5000/rise/app", "v1"},
		"127.0.0.1:5000/rise/app":    {"127.0.0.1:5000/rise/app", ""},
		"app:latest":                 {"app", "latest"},
	} {
		if r, tag := splitRef(ref); r != want[0] || tag != want[1] {
			t.Errorf("splitRef(%s) = %s, %s", ref, r, tag)
		}
	}
	for host, want := range map[string]bool{"127.0.0.1:5000": true, "localhost": true, "registry.example.com:5000": false, "[::1]:5000": true} {
		if insecureRegistry(host) != want {
			t.Errorf("insecureRegistry(%s) != %v", host, want)
		}
	}
}

func TestValidateAndMissingTools(t *testing.T) {
	for cfg, want := range map[*Builder]string{
		{ContainerCLI: "nerdctl"}:              "not supported",
		{Buildx: true, ContainerCLI: "podman"}: "podman has no buildx",
		{Dockerfile: "../Dockerfile"}:          "inside the app directory",
		{Context: "/etc"}:                      "inside the app directory",
	} {
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: Validate() = %v, want %q", cfg, err, want)
		}
	}
	none := func(string) (string, error) { return "", buildtool.ErrNoDigest }
	b := &Builder{lookPath: none}
	if _, err := b.cli(); err == nil || !strings.Contains(err.Error(), "neither `docker` nor `podman`") || !strings.Contains(err.Error(), "install") {
		t.Errorf("no tools: %v", err)
	}
	b.ContainerCLI = "podman"
	if _, err := b.cli(); err == nil || !strings.Contains(err.Error(), "`podman` was not found") || !strings.Contains(err.Error(), "apt-get install podman") {
		t.Errorf("no podman: %v", err)
	}
	onlyPodman := func(n string) (string, error) {
		if n == "podman" {
			return "/usr/bin/podman", nil
		}
		return "", buildtool.ErrNoDigest
	}
	b = &Builder{lookPath: onlyPodman}
	if p, err := b.cli(); err != nil || p != "/usr/bin/podman" {
		t.Errorf("podman fallback: %s %v", p, err)
	}
}
