#!/usr/bin/env bash
# The system tools `npm test` drives for real (the README's rule: one command passes every test on a fresh
# machine). Missing ones are installed when this runs as root on Debian/Ubuntu; otherwise it stops at once,
# naming the packages and the command. `.ci/run` relies on this same script through `npm test`; `npm run soak`
# adds what it needs as arguments (tool=package …).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node scripts/check-node.cjs

# command or path to test → Debian package providing it
declare -A NEED=(
  [htpasswd]=apache2-utils          # real htpasswd output for the credential tests
  [/usr/sbin/slapd]=slapd           # a real OpenLDAP server for the LDAP tests
  [ldapadd]=ldap-utils              # loads the tests' directory into it
  [chromium]=chromium               # the browser tests drive Debian's Chromium (playwright-core)
  [/usr/sbin/nginx]=nginx           # forward-auth behind nginx auth_request (test/auth-proxy/forward-auth/)
  [caddy]=caddy                     # forward-auth behind Caddy forward_auth
  [redis-server]=redis-server       # state shared by replicas (REDIS_URL): a real Redis, started by the tests
  # Real apps behind the proxy (test/apps/): the tutorial's Flask app under gunicorn, Jupyter Notebook, Shiny.
  [/usr/lib/python3/dist-packages/flask]=python3-flask
  [/usr/bin/gunicorn]=gunicorn
  [/usr/bin/jupyter-notebook]=jupyter-notebook
  [/usr/lib/R/site-library/shiny]=r-cran-shiny
)
for extra in "$@"; do NEED[${extra%%=*}]=${extra#*=}; done
missing=()
for tool in "${!NEED[@]}"; do
  if [[ $tool == /* ]]; then [ -e "$tool" ] || missing+=("${NEED[$tool]}")
  else command -v "$tool" >/dev/null || missing+=("${NEED[$tool]}")
  fi
done
if ! command -v kubectl >/dev/null; then
  echo "test-deps: kubectl (its built-in kustomize renders the manifests; no cluster is contacted) is not installed." >&2
  echo "test-deps: install it from https://kubernetes.io/docs/tasks/tools/ (it is not packaged by Debian), then run npm test again." >&2
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "test-deps: installing ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  exit 0
fi
echo "test-deps: npm test needs these system packages: ${packages[*]}" >&2
echo "test-deps: install them with:  sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
exit 1
