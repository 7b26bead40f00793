#!/bin/sh
# Builds localhost/rise-golang:<go version> (and :<major.minor>) from the
# host's Go toolchain (/usr/local/go or GOROOT) on top of the busybox base
# image (dev/base-image.sh), for Dockerfiles whose build stage needs Go when
# golang:* cannot be pulled. Idempotent and quiet on success; prints the
# image reference. Usage:
#   dev/go-image.sh [docker|podman]
set -eu
cli="${1:-${RISE_CONTAINER_CLI:-docker}}"
here="$(cd "$(dirname "$0")" && pwd)"
goroot="${GOROOT:-/usr/local/go}"
[ -x "$goroot/bin/go" ] || { echo "go-image: no Go toolchain at $goroot (set GOROOT)" >&2; exit 1; }
version="$("$goroot/bin/go" env GOVERSION)" # go1.26.8
version="${version#go}"
minor="$(echo "$version" | cut -d. -f1,2)"
image="localhost/rise-golang:$version"
if "$cli" image inspect "$image" >/dev/null 2>&1; then
  "$cli" tag "$image" "localhost/rise-golang:$minor" >/dev/null
  echo "$image"
  exit 0
fi
"$here/base-image.sh" "$cli"
ctx="$(mktemp -d)"
log="$(mktemp)"
trap 'rm -rf "$ctx" "$log"' EXIT
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM localhost/rise-base:busybox
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin:/root/go/bin:/bin:/usr/bin:/sbin:/usr/sbin \
    GOROOT=/usr/local/go GOPATH=/root/go HOME=/root GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
DOCKERFILE
# The build context is a tar stream: the Dockerfile plus the toolchain
# without its tests and docs.
tar -cf - -C "$ctx" Dockerfile -C "$(dirname "$goroot")" \
  --exclude='go/test' --exclude='go/doc' --exclude='go/api' --exclude='*/testdata' \
  --transform "s,^$(basename "$goroot"),go," "$(basename "$goroot")" |
  "$cli" build -q -t "$image" -t "localhost/rise-golang:$minor" - >"$log" 2>&1 ||
  { echo "go-image: $cli build failed:" >&2; tail -n 20 "$log" >&2; exit 1; }
echo "$image"
