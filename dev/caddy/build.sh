#!/usr/bin/env bash
# Builds Caddy (the reference reverse proxy of the edge benchmark) from the Go
# module proxy into a cache directory outside the repository and prints the
# binary's path. Idempotent and quiet on success: a cached binary is reused.
# Built in a scratch module (GOFLAGS=-mod=mod), like dev/dex/build.sh.
#
#   CADDY_VERSION  module version of github.com/caddyserver/caddy/v2 (default v2.11.9)
#   RISE_DEV_CACHE cache root (default ~/.cache/rise-dev)
set -euo pipefail

CADDY_VERSION="${CADDY_VERSION:-v2.11.9}"
CACHE="${RISE_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rise-dev}"
DIR="$CACHE/caddy-$CADDY_VERSION"
BIN="$DIR/caddy"
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
	"$GO" mod init caddybuild
	"$GO" get "github.com/caddyserver/caddy/v2@$CADDY_VERSION"
	printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/caddyserver/caddy/v2/cmd/caddy"\n' >tools.go
	"$GO" mod tidy
	CGO_ENABLED=0 "$GO" build -trimpath -o "$SRC/caddy" github.com/caddyserver/caddy/v2/cmd/caddy
) >"$LOG" 2>&1 || {
	echo "caddy build failed (log below)" >&2
	tail -n 40 "$LOG" >&2
	exit 1
}
mv "$SRC/caddy" "$BIN"
echo "$BIN"
