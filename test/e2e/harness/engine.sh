#!/usr/bin/env bash
# TEST HARNESS ONLY — prepares a container engine on an air-gapped Debian 12 CI machine. Nothing here is
# needed on a user's machine, where Docker or Podman pull images from a registry as usual.
#
# Works around (see shared notes on containers, verified on these machines):
#  - crun fails on this hybrid-cgroup VM ("cgroups in hybrid mode not supported"): use runc;
#  - podman's default container ulimits exceed this VM's hard limits (setrlimit EPERM): lower them.
set -euo pipefail

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v docker-compose >/dev/null \
   || ! command -v debootstrap >/dev/null; then
  echo "engine: installing podman, runc, docker-compose and debootstrap from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman runc catatonit uidmap slirp4netns fuse-overlayfs \
    debootstrap docker-compose iproute2 >/dev/null
fi

conf=/etc/containers/containers.conf
if ! grep -q 'e2e-harness' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  cat > "$conf" <<'CONF'
# written by test/e2e/harness/engine.sh (e2e-harness): runc instead of crun, ulimits within this VM's limits
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
CONF
fi
podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null
echo "engine: podman $(podman version --format '{{.Client.Version}}') with $(podman info --format '{{.Host.OCIRuntime.Name}}')" >&2
