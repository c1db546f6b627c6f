#!/usr/bin/env bash
# Builds versitygw, the real S3 server the Sink tests write to, from its upstream Go module into
# a cache outside the repository, keyed by version. A warm cache returns at once. Prints the path
# of the binary on its last line.
#
#   VERSITYGW_BIN=/path/to/versitygw   skip the build and use this binary
#   HINDSIGHT_CACHE=/path              cache root (default ~/.cache/hindsight)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

fail() {
  echo "versitygw build: $1" >&2
  [ $# -gt 1 ] && echo "  fix: $2" >&2
  exit 1
}

if [ -n "${VERSITYGW_BIN:-}" ]; then
  [ -x "$VERSITYGW_BIN" ] || fail "VERSITYGW_BIN=$VERSITYGW_BIN is not an executable file" \
    "point it at a versitygw v$VERSITYGW_VERSION binary, or unset it to build one from source"
  echo "$VERSITYGW_BIN"
  exit 0
fi

cache=${HINDSIGHT_CACHE:-$HOME/.cache/hindsight}
bin="$cache/versitygw/$VERSITYGW_VERSION"
if [ -x "$bin/versitygw" ]; then
  echo "$bin/versitygw"
  exit 0
fi

command -v go >/dev/null || fail "the Go toolchain is not on PATH" \
  "install Go 1.25 or newer, or set VERSITYGW_BIN to a prebuilt versitygw binary"

start=$(date +%s)
echo "versitygw build: building versitygw v$VERSITYGW_VERSION into $bin" >&2
# Install into a scratch directory and move the binary into place, so an interrupted build never
# leaves a binary the warm-cache check above would trust.
mkdir -p "$bin"
tmp=$(mktemp -d "$bin/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The versitygw command does not use cgo; a static binary runs anywhere.
CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN="$tmp" \
  go install -trimpath -ldflags "-s -w" "github.com/versity/versitygw/cmd/versitygw@v$VERSITYGW_VERSION" >&2 ||
  fail "building versitygw v$VERSITYGW_VERSION failed; the Go output above says why" \
    "check access to the Go module proxy (go env GOPROXY) and that Go >= 1.25 is installed"
mv "$tmp/versitygw" "$bin/versitygw"

echo "versitygw build: done in $(($(date +%s) - start))s" >&2
echo "$bin/versitygw"
