#!/usr/bin/env bash
# Builds Dex (the OIDC provider used by rise's auth tests and the dev setup)
# from the Go module proxy into a cache directory outside the repository and
# prints the binary's path. Idempotent and quiet on success: a cached binary is
# reused. Dex's module cannot be `go install`ed (no /v2 path, a replace for its
# api module), so it is built in a scratch module.
#
#   DEX_VERSION   pseudo-version of github.com/dexidp/dex (default = v2.45.1)
#   RISE_DEV_CACHE cache root (default ~/.cache/rise-dev)
set -euo pipefail

DEX_VERSION="${DEX_VERSION:-v0.0.0-20260303133905-11d2eeb52b42}" # = v2.45.1
DEX_API_VERSION="${DEX_API_VERSION:-v2.4.0}"
CACHE="${RISE_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rise-dev}"
DIR="$CACHE/dex-$DEX_VERSION"
BIN="$DIR/dex"
GO="${GO:-go}"
command -v "$GO" >/dev/null 2>&1 || GO=/usr/local/go/bin/go

if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9 # another test binary may be building the same version right now
if [[ -x "$BIN" ]]; then
	echo "$BIN"
	exit 0
fi

SRC="$(mktemp -d "$DIR/build.XXXXXX")"
trap 'rm -rf "$SRC"' EXIT
LOG="$SRC/build.log"
(
	cd "$SRC"
	export GOFLAGS=-mod=mod GOWORK=off
	"$GO" mod init dexbuild
	"$GO" get "github.com/dexidp/dex@$DEX_VERSION"
	"$GO" get "github.com/dexidp/dex/api/v2@$DEX_API_VERSION"
	printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/dexidp/dex/cmd/dex"\n' >tools.go
	"$GO" mod tidy
	CGO_ENABLED="${CGO_ENABLED:-1}" "$GO" build -trimpath -o "$SRC/dex" github.com/dexidp/dex/cmd/dex
) >"$LOG" 2>&1 || {
	echo "dex build failed (log below)" >&2
	tail -n 40 "$LOG" >&2
	exit 1
}
mv "$SRC/dex" "$BIN"
echo "$BIN"
