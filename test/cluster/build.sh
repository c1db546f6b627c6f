#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok) from upstream Go modules into a cache outside the repository, keyed by version.
# A warm cache returns at once. Prints the directory holding the binaries on its last line.
#
#   KUBE_ASSETS_DIR=/path/with/binaries   skip the build and use these binaries
#   HINDSIGHT_CACHE=/path                 cache root (default ~/.cache/hindsight)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

fail() {
  echo "cluster build: $1" >&2
  [ $# -gt 1 ] && echo "  fix: $2" >&2
  exit 1
}

if [ -n "${KUBE_ASSETS_DIR:-}" ]; then
  for b in "${binaries[@]}"; do
    [ -x "$KUBE_ASSETS_DIR/$b" ] || fail "KUBE_ASSETS_DIR=$KUBE_ASSETS_DIR has no executable '$b'" \
      "put all of ${binaries[*]} there, or unset KUBE_ASSETS_DIR to build them from source"
  done
  echo "$KUBE_ASSETS_DIR"
  exit 0
fi

cache=${HINDSIGHT_CACHE:-$HOME/.cache/hindsight}
out="$cache/kube/k8s-v$KUBE_VERSION-etcd-v$ETCD_VERSION-kwok-v$KWOK_VERSION"
bin="$out/bin"
complete=1
for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || complete=0; done
if [ "$complete" = 1 ]; then
  echo "$bin"
  exit 0
fi

# Two test runs started together build once: the second waits here, then finds the cache warm.
mkdir -p "$out"
exec 9>"$out/.build.lock"
if command -v flock >/dev/null; then
  flock 9
  complete=1
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || complete=0; done
  if [ "$complete" = 1 ]; then
    echo "$bin"
    exit 0
  fi
fi

command -v go >/dev/null || fail "the Go toolchain is not on PATH" \
  "install Go 1.26 or newer, or set KUBE_ASSETS_DIR to a directory with prebuilt binaries"
gover=$(go env GOVERSION | sed 's/^go//')
case "$gover" in
  1.2[6-9]* | 1.[3-9]* | [2-9].*) ;;
  *) fail "Kubernetes v$KUBE_VERSION needs Go >= 1.26, found go$gover" "install Go 1.26 or set KUBE_ASSETS_DIR" ;;
esac

mkdir -p "$out/src" "$bin"
start=$(date +%s)
mod="$out/src"
echo "cluster build: building Kubernetes v$KUBE_VERSION, etcd v$ETCD_VERSION, kwok v$KWOK_VERSION into $bin (cold builds take tens of minutes)" >&2

# k8s.io/kubernetes points its staging modules at ./staging with version v0.0.0; a module that
# builds its commands requires the release and replaces each staging module with v0.<minor>.<patch>.
upstream_mod=$(mktemp)
trap 'rm -f "$upstream_mod"' EXIT
(cd "$mod" && go mod download "k8s.io/kubernetes@v$KUBE_VERSION") ||
  fail "could not download k8s.io/kubernetes@v$KUBE_VERSION from the Go module proxy" "check GOPROXY and network access to the proxy"
gomodcache=$(go env GOMODCACHE)
cp "$gomodcache/cache/download/k8s.io/kubernetes/@v/v$KUBE_VERSION.mod" "$upstream_mod"
staging_version="v0.${KUBE_VERSION#1.}"
staging=$(awk '/^require/,/^\)/ { if ($1 ~ /^k8s.io\// && $2 == "v0.0.0") print $1 }' "$upstream_mod")
[ -n "$staging" ] || fail "found no staging modules in k8s.io/kubernetes@v$KUBE_VERSION's go.mod"

{
  echo "module hindsight.dev/kube-binaries"
  echo
  echo "go $(awk '$1 == "go" { print $2; exit }' "$upstream_mod")"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes v$KUBE_VERSION"
  echo "	go.etcd.io/etcd/server/v3 v$ETCD_VERSION"
  echo ")"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m $staging_version"; done
  echo ")"
} >"$mod/go.mod"

cat >"$mod/tools.go" <<'GO'
//go:build tools

// Package tools keeps the control-plane commands in the module graph.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
(cd "$mod" && go mod tidy) >&2 ||
  fail "go mod tidy failed for Kubernetes v$KUBE_VERSION" "check the staging module list in k8s.io/kubernetes@v$KUBE_VERSION's go.mod and that the proxy serves $staging_version"

minor=${KUBE_VERSION#1.}
minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build() { # name package
  echo "cluster build: $1" >&2
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin/$1.tmp" "$2") >&2 ||
    fail "building $1 ($2) failed; the Go output above says why" \
      "make sure Go >= 1.26 is installed and a few GB of disk are free, or set KUBE_ASSETS_DIR to prebuilt binaries"
  mv "$bin/$1.tmp" "$bin/$1"
}
build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
build kubectl k8s.io/kubernetes/cmd/kubectl

echo "cluster build: kwok" >&2
GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" >&2 ||
  fail "building kwok v$KWOK_VERSION failed; the Go output above says why" "check access to the Go module proxy"

echo "cluster build: done in $(($(date +%s) - start))s" >&2
echo "$bin"
