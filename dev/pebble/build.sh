#!/usr/bin/env bash
# Builds Pebble (Let's Encrypt's ACME test server) and pebble-challtestsrv (its
# DNS/challenge test server) from the Go module proxy into a cache directory
# outside the repository and prints the directory holding both binaries.
# Idempotent and quiet on success: cached binaries are reused.
#
#   PEBBLE_VERSION module version of github.com/letsencrypt/pebble/v2 (default v2.10.3)
#   RISE_DEV_CACHE cache root (default ~/.cache/rise-dev)
set -euo pipefail
source "$(dirname "$0")/../lib/gobuild.sh"

PEBBLE_VERSION="${PEBBLE_VERSION:-v2.10.3}"
CACHE="${RISE_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rise-dev}"
dir="$CACHE/pebble-$PEBBLE_VERSION"
# gobuild's EXIT trap and lock are per call: run each in its own subshell.
(gobuild pebble "$dir" 0 github.com/letsencrypt/pebble/v2/cmd/pebble \
	"github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION") >/dev/null
(gobuild pebble-challtestsrv "$dir" 0 github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv \
	"github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION") >/dev/null
# Pebble's own test certificates: the minica root its HTTPS endpoints chain
# to, and the localhost certificate they serve.
if [[ ! -f "$dir/certs/pebble.minica.pem" ]]; then
	go="${GO:-go}"
	command -v "$go" >/dev/null 2>&1 || go=/usr/local/go/bin/go
	src="$(cd "$dir" && GOFLAGS=-mod=mod GOWORK=off "$go" mod download -json "github.com/letsencrypt/pebble/v2@$PEBBLE_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -n "$src" && -f "$src/test/certs/pebble.minica.pem" ]] || { echo "pebble: module source not found" >&2; exit 1; }
	mkdir -p "$dir/certs.tmp"
	cp "$src/test/certs/pebble.minica.pem" "$src/test/certs/localhost/cert.pem" "$src/test/certs/localhost/key.pem" "$dir/certs.tmp/"
	chmod 0644 "$dir/certs.tmp/"*
	rm -rf "$dir/certs" && mv "$dir/certs.tmp" "$dir/certs"
fi
echo "$dir"
