#!/usr/bin/env bash
# Stops what dev/up.sh started (rise server, Dex, the registry, PostgreSQL).
# Data stays in .dev/ (the database, pushed images, keys, the admin password);
# `rm -rf .dev` after this starts from scratch. App containers the server
# deployed keep running until their deployments are stopped (`rise d stop`)
# or removed with `docker rm -f $(docker ps -qf label=rise.project)`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
STATE="${RISE_DEV_STATE:-$ROOT/.dev}"
# shellcheck source=dev/local/lib.sh
. "$ROOT/dev/local/lib.sh"
[ -d "$STATE" ] || exit 0
stop_pid "$STATE/server.pid" "rise server"
stop_pid "$STATE/dex/dex.pid" dex
stop_pid "$STATE/registry/registry.pid" docker-registry
stop_postgres
stop_pid "$STATE/podman/service.pid" "podman system service"
