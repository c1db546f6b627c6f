#!/usr/bin/env bash
# Builds helm, which the chart tests lint, render and install with, from its upstream Go module into
# a cache outside the repository, keyed by version. A warm cache returns at once. Prints the path
# of the binary on its last line.
#
#   HELM_BIN=/path/to/helm   skip the build and use this binary
#   HINDSIGHT_CACHE=/path              cache root (default ~/.cache/hindsight)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

fail() {
  echo "helm build: $1" >&2
  [ $# -gt 1 ] && echo "  fix: $2" >&2
  exit 1
}

if [ -n "${HELM_BIN:-}" ]; then
  [ -x "$HELM_BIN" ] || fail "HELM_BIN=$HELM_BIN is not an executable file" \
    "point it at a helm v$HELM_VERSION binary, or unset it to build one from source"
  echo "$HELM_BIN"
  exit 0
fi

cache=${HINDSIGHT_CACHE:-$HOME/.cache/hindsight}
bin="$cache/helm/$HELM_VERSION"
if [ -x "$bin/helm" ]; then
  echo "$bin/helm"
  exit 0
fi

command -v go >/dev/null || fail "the Go toolchain is not on PATH" \
  "install Go 1.26 or newer, or set HELM_BIN to a prebuilt helm binary"

start=$(date +%s)
echo "helm build: building helm v$HELM_VERSION into $bin" >&2
# Install into a scratch directory and move the binary into place, so an interrupted build never
# leaves a binary the warm-cache check above would trust.
mkdir -p "$bin"
tmp=$(mktemp -d "$bin/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# helm does not need cgo; a static binary runs anywhere.
CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$tmp" \
  go install -trimpath -ldflags "-s -w" "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION" >&2 ||
  fail "building helm v$HELM_VERSION failed; the Go output above says why" \
    "check access to the Go module proxy (go env GOPROXY) and that Go >= 1.26 is installed"
mv "$tmp/helm" "$bin/helm"

echo "helm build: done in $(($(date +%s) - start))s" >&2
echo "$bin/helm"
