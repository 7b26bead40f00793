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
echo "$dir"
