#!/usr/bin/env bash
# Starts rise's local platform under .dev/ (all on loopback) and prints the
# next commands: PostgreSQL, Debian's docker-registry with token auth against
# the rise server, Dex (OIDC), the example base images, and `rise server`.
# `make dev` runs it after dev/deps.sh and `make build`; `make dev-down`
# (dev/down.sh) stops what it started. Running it again is safe: running
# parts are kept, a rebuilt bin/rise or a changed config restarts the server.
#
# The container engine is the running Docker Engine, else Podman serving the
# Docker API from .dev/podman (RISE_DEV_ENGINE=docker|podman forces one).
# Ports (override with the environment):
#   RISE_DEV_PORT=3000  RISE_DEV_PG_PORT=5433  RISE_DEV_REGISTRY_PORT=5000  RISE_DEV_DEX_PORT=5556
# The admin password is generated once into .dev/admin-password (or set
# RISE_DEV_PASSWORD on the first run). RISE_DEV_STATE (default .dev) and
# RISE_DEV_BIN (default bin/rise) are for tests (dev/local/up_test.go).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export PATH="/usr/local/go/bin:$PATH"
STATE="${RISE_DEV_STATE:-$ROOT/.dev}"
RISE="${RISE_DEV_BIN:-$ROOT/bin/rise}"
PORT="${RISE_DEV_PORT:-3000}"
PG_PORT="${RISE_DEV_PG_PORT:-5433}"
REG_PORT="${RISE_DEV_REGISTRY_PORT:-5000}"
DEX_PORT="${RISE_DEV_DEX_PORT:-5556}"
PUBLIC_URL="http://127.0.0.1:$PORT"
EMAIL=admin@example.com
# shellcheck source=dev/local/lib.sh
. "$ROOT/dev/local/lib.sh"

[ -x "$RISE" ] || die "bin/rise is missing: run \`make dev\` (it builds it) or \`make build\`"
mkdir -p "$STATE"/{keys,data,registry/storage,dex,pg,bin}
pick_engine

# ---- secrets, generated once ------------------------------------------------
if [ ! -s "$STATE/admin-password" ]; then
  (umask 077; printf '%s\n' "${RISE_DEV_PASSWORD:-$(openssl rand -hex 9)}" >"$STATE/admin-password")
fi
PASSWORD="$(head -n1 "$STATE/admin-password")"
if [ ! -s "$STATE/admin-password.bcrypt" ]; then
  go build -o "$STATE/bin/bcrypt" ./dev/local/bcrypt || die "build dev/local/bcrypt failed"
  printf '%s' "$PASSWORD" | "$STATE/bin/bcrypt" >"$STATE/admin-password.bcrypt"
fi
HASH="$(cat "$STATE/admin-password.bcrypt")"
[ -s "$STATE/dex/client-secret" ] || (umask 077; openssl rand -hex 16 >"$STATE/dex/client-secret")
DEX_SECRET="$(cat "$STATE/dex/client-secret")"
# The key that seals project variables (docs/secrets.md); kept across runs,
# since the server refuses to start when it cannot open stored values.
[ -s "$STATE/encryption.key" ] || (umask 077; openssl rand -base64 32 >"$STATE/encryption.key")
ENCRYPTION_KEY="$(cat "$STATE/encryption.key")"
if [ ! -s "$STATE/keys/registry.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=rise dev registry token signer" \
    -keyout "$STATE/keys/registry.key" -out "$STATE/keys/registry.crt" >/dev/null 2>&1 ||
    die "openssl could not make the registry token signing key"
  chmod 600 "$STATE/keys/registry.key"
fi

# ---- the parts ----------------------------------------------------------------
start_postgres
start_registry
start_dex
dev/base-image.sh "$ENGINE" || die "dev/base-image.sh failed"
dev/go-image.sh "$ENGINE" >/dev/null || die "dev/go-image.sh failed"
write_server_config
start_server

if [ "$ENGINE" = podman ]; then
  cat <<EOF
The container engine is Podman; builds need its Docker API socket and configuration:

  export DOCKER_HOST=$ENGINE_HOST CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_REGISTRIES_CONF=$CONTAINERS_REGISTRIES_CONF

EOF
fi
cat <<EOF
rise is running at $PUBLIC_URL (log: $(rel "$STATE/server.log"); stop it all with \`make dev-down\`).
Apps are served at http://<project>.localhost:$PORT. Log in as $EMAIL, password $PASSWORD:

  bin/rise login --url $PUBLIC_URL --email $EMAIL --password '$PASSWORD'   # or without --email: the browser login through Dex
  bin/rise p c hello
  cd examples/hello && ../../bin/rise deploy

The dashboard: $PUBLIC_URL/projects (same user and password, through Dex).
EOF
