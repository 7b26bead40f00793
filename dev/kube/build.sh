#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries the kubernetes runtime tests use:
# kube-apiserver, kube-controller-manager and kube-scheduler from the Go module proxy (in a
# scratch module), kwok from its module, and etcd from Debian. Everything lands in a cache
# directory OUTSIDE the repository, keyed by version:
#
#   ${RISE_KUBE_CACHE:-$HOME/.cache/rise-dev/kube-v1.32.3}/{kube-apiserver,kube-controller-manager,kube-scheduler,kwok,etcd}
#
# Idempotent and quiet on success: binaries already present are not rebuilt.
# Usage: dev/kube/build.sh [apiserver|all]   (default: all)
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.32.3}"
STAGING_VERSION="v0${KUBE_VERSION#v1}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE="${RISE_KUBE_CACHE:-$HOME/.cache/rise-dev/kube-$KUBE_VERSION}"
WHAT="${1:-all}"

log() { echo "dev/kube/build.sh: $*" >&2; }
quiet() { # run a command, print its output only if it fails
  local out
  if ! out="$("$@" 2>&1)"; then
    log "command failed: $*"
    echo "$out" >&2
    return 1
  fi
}

mkdir -p "$CACHE"
# One build at a time per cache (tests and engineers may start this concurrently).
exec 9>"$CACHE/.lock"
flock 9

# etcd: Debian package (3.4.x); link it into the cache so tests find everything in one place.
if [ ! -x "$CACHE/etcd" ]; then
  if ! command -v etcd >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      quiet apt-get install -y etcd-server || { quiet apt-get update && quiet apt-get install -y etcd-server; }
    else
      log "etcd not found and not root: install the etcd-server package"; exit 1
    fi
  fi
  ln -sf "$(command -v etcd)" "$CACHE/etcd"
fi

components=(kube-apiserver)
if [ "$WHAT" = all ]; then
  components+=(kube-controller-manager kube-scheduler)
fi

missing=()
for c in "${components[@]}"; do
  [ -x "$CACHE/$c" ] || missing+=("$c")
done

if [ "${#missing[@]}" -gt 0 ]; then
  work="$CACHE/.build"
  mkdir -p "$work"
  if [ ! -f "$work/go.sum" ] || ! grep -q "k8s.io/kubernetes $KUBE_VERSION" "$work/go.mod" 2>/dev/null; then
    rm -f "$work/go.mod" "$work/go.sum"
    staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
      cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
      kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
      mount-utils pod-security-admission sample-apiserver)
    {
      echo "module risekubebuild"
      echo
      echo "go 1.23"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      for m in "${staging[@]}"; do
        echo "replace k8s.io/$m => k8s.io/$m $STAGING_VERSION"
      done
    } >"$work/go.mod"
    cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
    (cd "$work" && GOFLAGS=-mod=mod GOTOOLCHAIN=local quiet go mod tidy -e)
  fi
  minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  for c in "${missing[@]}"; do
    (cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local quiet go build -trimpath -ldflags "$ldflags" -o "$CACHE/$c.tmp.$$" "k8s.io/kubernetes/cmd/$c")
    mv "$CACHE/$c.tmp.$$" "$CACHE/$c"
  done
fi

if [ "$WHAT" = all ] && [ ! -x "$CACHE/kwok" ]; then
  GOBIN="$CACHE/.gobin" GOTOOLCHAIN=local quiet go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$CACHE/.gobin/kwok" "$CACHE/kwok"
fi

# KWOK's stock stages (as kwokctl uses them): nodes become Ready and heartbeat,
# pods become Running/Ready, deleted pods go away.
if [ "$WHAT" = all ] && [ ! -s "$CACHE/kwok-stages.yaml" ]; then
  src="$(cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$src/kustomize/stage" ] || { log "KWOK $KWOK_VERSION stage files not found (module dir: '$src')"; exit 1; }
  for s in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$src/kustomize/stage/$s"
    echo "---"
  done >"$CACHE/kwok-stages.yaml.tmp"
  mv "$CACHE/kwok-stages.yaml.tmp" "$CACHE/kwok-stages.yaml"
fi
