#!/usr/bin/env bash
# Installs what rise's tests and local platform need on a Debian machine.
# Idempotent and quiet on success; safe to run on every `make test`/`make dev`.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'deps: %s\n' "$*" >&2; }

# Debian packages: binary -> package.
declare -A PKGS=(
  [curl]=curl
  [openssl]=openssl
  [protoc]=protobuf-compiler
  [/usr/include/google/protobuf/timestamp.proto]=libprotobuf-dev
  [docker-registry]=docker-registry
  [etcd]=etcd-server
  [busybox]=busybox-static
  [wrk]=wrk # the edge benchmark's load generator
)
# The second container engine (Docker-compatible API) the builder tests use.
if [ "${RISE_DEPS:-test}" != dev ]; then
  PKGS[podman]=podman
  PKGS[runc]=runc
  PKGS[chromium]=chromium # the dashboard's browser tests (dev/browsertest)
fi
missing=()
for bin in "${!PKGS[@]}"; do
  if [[ $bin == /* ]]; then
    [ -e "$bin" ] || missing+=("${PKGS[$bin]}")
  else
    command -v "$bin" >/dev/null 2>&1 || missing+=("${PKGS[$bin]}")
  fi
done
# PostgreSQL: initdb on PATH or in the Debian layout, and the postgres user.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
elif ! id postgres >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]} (run as root or: sudo apt-get install -y ${missing[*]})"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian packages start system services we do not use.
  systemctl disable --now docker-registry etcd postgresql >/dev/null 2>&1 || true
  service docker-registry stop >/dev/null 2>&1 || true
  service etcd stop >/dev/null 2>&1 || true
  service postgresql stop >/dev/null 2>&1 || true
fi

# Go tools, pinned, into ./.bin.
GOBIN="$(pwd)/.bin"
export GOBIN
mkdir -p "$GOBIN"
install_tool() { # name module@version
  [ -x "$GOBIN/$1" ] && return 0
  log "installing $2"
  go install "$2"
}
install_tool staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2
install_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
install_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1

# Heavier real parts, built from the Go module proxy (each script is
# idempotent and caches outside the repo). `make dev` needs only Dex; the
# Kubernetes control plane and Pebble are for the tests (RISE_DEPS=dev
# skips them).
./dev/dex/build.sh >/dev/null
if [ "${RISE_DEPS:-test}" != dev ]; then
  ./dev/kube/build.sh >/dev/null
  # Pebble + pebble-challtestsrv: the ACME CA and DNS of the HTTPS tests.
  ./dev/pebble/build.sh >/dev/null
  # docker buildx (not in Debian's docker CLI) for the docker:buildx builder test.
  buildx="$HOME/.cache/rise-test/docker-buildx"
  if [ ! -x "$buildx" ] && ! docker buildx version >/dev/null 2>&1; then
    log "building docker buildx"
    tmp="$(mktemp -d)"
    GOBIN="$tmp" go install github.com/docker/buildx/cmd/buildx@v0.19.3
    install -D "$tmp/buildx" "$buildx"
    rm -rf "$tmp"
  fi
fi
exit 0
