#!/usr/bin/env bash
# TEST HARNESS ONLY — provides `docker.io/library/node:24-bookworm-slim` on a machine that cannot reach any
# container registry, so the project's Dockerfiles build unchanged. On a user's machine the real image is pulled.
#
# The stand-in is laid out like the official image: Debian bookworm (debootstrap minbase), node in
# /usr/local/bin, npm in /usr/local/lib/node_modules, user `node` (uid/gid 1000). The npm registry is reached
# through a TLS-intercepting proxy here, so the host's CA bundle goes in and NODE_EXTRA_CA_CERTS points at it.
set -euo pipefail
IMAGE=docker.io/library/node:24-bookworm-slim
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"

if podman image exists "$IMAGE"; then
  echo "base-image: $IMAGE already present" >&2
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
mirror="${mirror:-http://deb.debian.org/debian}"

echo "base-image: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2; exit 1; }

# node: the same official binary scripts/node24.sh uses.
# shellcheck source=../../../scripts/node24.sh
. "$root_dir/scripts/node24.sh"
install -m 0755 "$(command -v node)" "$rootfs/usr/local/bin/node"

# npm: the version bundled with this node release, from the registry.
npm_version="$(node -p 'process.versions.npm ?? ""' 2>/dev/null)"
[ -n "$npm_version" ] || npm_version=11
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

mkdir -p "$rootfs/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

echo "base-image: importing $IMAGE" >&2
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null 2>&1
echo "base-image: $IMAGE ready ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)" >&2
