#!/usr/bin/env bash
# Builds Dex (the OIDC provider used by rise's auth tests and the dev setup)
# from the Go module proxy into a cache directory outside the repository and
# prints the binary's path. Idempotent and quiet on success: a cached binary is
# reused. Dex's module cannot be `go install`ed (no /v2 path, a replace for its
# api module), so it is built in a scratch module (dev/lib/gobuild.sh).
#
#   DEX_VERSION   pseudo-version of github.com/dexidp/dex (default = v2.45.1)
#   RISE_DEV_CACHE cache root (default ~/.cache/rise-dev)
set -euo pipefail
source "$(dirname "$0")/../lib/gobuild.sh"

DEX_VERSION="${DEX_VERSION:-v0.0.0-20260303133905-11d2eeb52b42}" # = v2.45.1
DEX_API_VERSION="${DEX_API_VERSION:-v2.4.0}"
CACHE="${RISE_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rise-dev}"
gobuild dex "$CACHE/dex-$DEX_VERSION" "${CGO_ENABLED:-1}" github.com/dexidp/dex/cmd/dex \
	"github.com/dexidp/dex@$DEX_VERSION" "github.com/dexidp/dex/api/v2@$DEX_API_VERSION"
