#!/usr/bin/env bash
# Builds Caddy (the reference reverse proxy of the edge benchmark) from the Go
# module proxy into a cache directory outside the repository and prints the
# binary's path. Idempotent and quiet on success: a cached binary is reused.
#
#   CADDY_VERSION  module version of github.com/caddyserver/caddy/v2 (default v2.11.9)
#   RISE_DEV_CACHE cache root (default ~/.cache/rise-dev)
set -euo pipefail
source "$(dirname "$0")/../lib/gobuild.sh"

CADDY_VERSION="${CADDY_VERSION:-v2.11.9}"
CACHE="${RISE_DEV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rise-dev}"
gobuild caddy "$CACHE/caddy-$CADDY_VERSION" 0 github.com/caddyserver/caddy/v2/cmd/caddy \
	"github.com/caddyserver/caddy/v2@$CADDY_VERSION"
