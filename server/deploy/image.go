package deploy

import (
	"strings"

	"github.com/riseplatform/rise/sdk"
)

// artifactOf splits an image reference (repo:tag, repo@sha256:..., or
// repo:tag@sha256:...) into an sdk.Artifact.
func artifactOf(ref string) sdk.Artifact {
	var a sdk.Artifact
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, a.Digest = ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		ref, a.Tag = ref[:i], ref[i+1:]
	}
	a.Repository = ref
	return a
}

// pinnedRef returns the reference a deployment runs: the digest-pinned one
// when known, else the image as given.
func (d *row) pinnedRef() string {
	switch {
	case d.ImageDigest == "":
		return d.Image
	case strings.Contains(d.ImageDigest, "@"):
		return d.ImageDigest
	default:
		a := artifactOf(d.Image)
		return a.Repository + "@" + d.ImageDigest
	}
}
