package docker

import (
	"path"
	"path/filepath"
	"slices"
	"sort"
)

// buildCommand returns the argv (after the CLI) that builds the image and
// tags it with every tag. For buildx with push=true it pushes too and writes
// build metadata (the pushed digest) to metadataFile.
func (b *Builder) buildCommand(dir, dockerfile string, tags []string, platform string, args map[string]string, noCache, push bool, metadataFile string) []string {
	var argv []string
	if b.Buildx {
		argv = []string{"buildx", "build"}
	} else {
		// --force-rm: the classic builder otherwise keeps the container of
		// a failed step on the user's machine (BuildKit and buildx keep none).
		argv = []string{"build", "--force-rm"}
	}
	ctxDir := dir
	if b.Context != "" {
		ctxDir = filepath.Join(dir, b.Context)
	}
	argv = append(argv, "--file", filepath.Join(dir, dockerfile))
	for _, t := range tags {
		argv = append(argv, "--tag", t)
	}
	if platform != "" {
		argv = append(argv, "--platform", platform)
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		argv = append(argv, "--build-arg", k+"="+args[k])
	}
	if b.Target != "" {
		argv = append(argv, "--target", b.Target)
	}
	if noCache {
		argv = append(argv, "--no-cache")
	}
	if b.Buildx {
		if push {
			argv = append(argv, "--push", "--metadata-file", metadataFile)
		} else {
			argv = append(argv, "--load")
		}
		argv = append(argv, "--progress", "plain")
	}
	return append(argv, ctxDir)
}

// mergeArgs merges configured build args with the request's (request wins).
func mergeArgs(cfg, req map[string]string) map[string]string {
	out := make(map[string]string, len(cfg)+len(req))
	for k, v := range cfg {
		out[k] = v
	}
	for k, v := range req {
		out[k] = v
	}
	return out
}

// insecureRegistry reports whether a registry host is a loopback one that
// podman must talk to over plain HTTP (docker treats 127.0.0.0/8 as insecure
// by itself).
func insecureRegistry(host string) bool {
	h := host
	if i := lastColon(h); i >= 0 {
		h = h[:i]
	}
	return slices.Contains([]string{"localhost", "127.0.0.1", "[::1]"}, h) || path.Ext(h) == ".localhost"
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ':':
			return i
		case ']':
			return -1
		}
	}
	return -1
}
