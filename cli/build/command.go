package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/sdk"
)

// NewCommand returns `rise build [TAG] [PATH]`: build an app directory into
// a container image locally (no rise server involved) and, with --push, push
// TAG with the credentials of the local docker login. The image reference
// (repo@digest when pushed) goes to stdout, progress to stderr.
func NewCommand(launch Launcher) *cobra.Command {
	var (
		o         Options
		buildArgs []string
		push      bool
	)
	cmd := &cobra.Command{
		Use:   "build [TAG] [PATH]",
		Short: "Build a container image from an app directory",
		Long: `Build a container image from an app directory without deploying it.

The builder is chosen by --backend, else by the build block of rise.hcl (or [build] backend
in rise.toml or .rise.toml), else auto-detected: a Dockerfile or Containerfile means docker, a
railpack.json means railpack, anything else Cloud Native Buildpacks (pack).`,
		Example: `  rise build myapp:latest
  rise build myapp:latest ./app --backend pack --build-arg NODE_ENV=production
  rise build registry.example.com/team/myapp:v1 --push
  rise build myapp:latest --backend railpack:buildctl --managed-buildkit`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				o.Image = args[0]
			}
			if len(args) > 1 {
				o.Dir = args[1]
			}
			var err error
			if o.BuildArgs, err = parseBuildArgs(buildArgs); err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			if push {
				if o.Image == "" || !strings.Contains(o.Image, "/") {
					return exitcode.Usagef("--push needs a TAG naming a registry, e.g. registry.example.com/team/app:v1")
				}
				o.Push = &sdk.PushTarget{Image: o.Image}
			}
			o.Launch = launch
			o.Warn = cmd.ErrOrStderr()
			o.AppWarnings = true
			ui := StreamUI(cmd.ErrOrStderr())
			o.OnBackend = func(b Backend) {
				ui.Logf("Building with %s (%s)", b.Method(), b.Source)
			}
			art, err := Run(cmd.Context(), o, ui)
			if err != nil {
				if errors.Is(err, cmd.Context().Err()) && cmd.Context().Err() != nil {
					return exitcode.Wrap(exitcode.Interrupted, err)
				}
				if o.Push != nil && strings.Contains(err.Error(), "push failed") {
					return exitcode.Wrap(exitcode.PushFailed, err)
				}
				return exitcode.Wrap(exitcode.BuildFailed, err)
			}
			return printArtifact(cmd, art)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Backend, "backend", "", "builder: docker, docker:buildx, podman, pack (buildpacks), railpack, railpack:buildctl, or a builder plugin")
	f.BoolVar(&push, "push", false, "push TAG after building (with your local docker login)")
	f.StringVar(&o.Dockerfile, "dockerfile", "", "Dockerfile to use, relative to PATH (docker builder)")
	f.StringVar(&o.BuilderImage, "builder", "", "buildpacks builder image, e.g. paketobuildpacks/builder-jammy-base (pack builder)")
	f.StringArrayVar(&buildArgs, "build-arg", nil, "build argument KEY=VALUE (repeatable; buildpack env for pack)")
	f.StringArrayVarP(&buildArgs, "env", "e", nil, "same as --build-arg (the reference rise's build-time -e)")
	f.StringVar(&o.Platform, "platform", "", "target platform, e.g. linux/amd64")
	f.BoolVar(&o.NoCache, "no-cache", false, "do not use the build cache")
	f.BoolVar(&o.ManagedBuildkit, "managed-buildkit", false, "run a BuildKit daemon with SSL_CERT_FILE's CA (also: RISE_MANAGED_BUILDKIT=true)")
	_ = cmd.RegisterFlagCompletionFunc("backend", cobra.FixedCompletions(
		[]string{"docker", "docker:buildx", "podman", "pack", "buildpacks", "railpack", "railpack:buildctl"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func parseBuildArgs(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range in {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			// docker semantics: --build-arg KEY takes the value from the environment
			val, set := os.LookupEnv(a)
			if !set {
				return nil, fmt.Errorf("--build-arg %q: expected KEY=VALUE (or KEY set in the environment)", a)
			}
			k, v = a, val
		}
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: empty key", a)
		}
		out[k] = v
	}
	return out, nil
}

func printArtifact(cmd *cobra.Command, art *sdk.Artifact) error {
	if f := cmd.Flags().Lookup("output"); f != nil && f.Value.String() == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"repository": art.Repository, "tag": art.Tag, "digest": art.Digest,
			"image": art.Ref(), "local": art.Local, "builder": art.Labels["rise.builder"],
		})
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), art.Ref())
	return err
}
