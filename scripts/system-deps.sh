#!/usr/bin/env bash
# Installs the system packages the test suite uses, when it can: iproute2 (ip), iptables and socat for the
# network-namespace tests, pgbouncer for the PgBouncer suite, chromium for the demo report check.
# `npm test` runs it first, and .ci/run before `npm ci`.
#
# It acts only as root with apt-get, and only for tools that are missing; LIFELINE_NO_INSTALL=1 turns it
# off. Otherwise it does nothing, quietly. It never fails the run: when apt-get fails (offline, locked, no
# such package) it prints one loud line and exits 0, and the tests that need the tool skip with a reason.
# The tool list matches test/support/tools.ts.
set -u

tools=(ip iptables socat pgbouncer chromium)
packages=(iproute2 iptables socat pgbouncer chromium)

case "${LIFELINE_NO_INSTALL:-}" in
'' | 0 | false) ;;
*) exit 0 ;;
esac
[ "$(id -u)" = 0 ] || exit 0
command -v apt-get >/dev/null 2>&1 || exit 0

# Same places test/support/tools.ts looks: PATH, then the sbin directories.
have() {
  local dir
  for dir in ${PATH//:/ } /usr/local/sbin /usr/sbin /sbin; do
    [ -x "$dir/$1" ] && [ -f "$dir/$1" ] && return 0
  done
  return 1
}

need=()
for i in "${!tools[@]}"; do
  have "${tools[$i]}" || need+=("${packages[$i]}")
done
[ ${#need[@]} -eq 0 ] && exit 0

echo "system-deps: installing ${need[*]} with apt-get (LIFELINE_NO_INSTALL=1 skips this)"
log=$(mktemp /tmp/lifeline-system-deps.XXXXXX.log)
bound() { if command -v timeout >/dev/null 2>&1; then timeout "$@"; else shift; "$@"; fi; }
apt_opts=(-o DPkg::Lock::Timeout=60 -o Acquire::Retries=1 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20)
if DEBIAN_FRONTEND=noninteractive bound 300 apt-get "${apt_opts[@]}" update -qq >>"$log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive bound 900 apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends \
    "${need[@]}" >>"$log" 2>&1; then
  echo "system-deps: installed ${need[*]}"
  rm -f "$log"
else
  last=$(grep -v '^\s*$' "$log" | tail -n 1)
  echo "!!! system-deps: could not install ${need[*]} (apt-get: ${last:-no output}; full log $log)." \
    "Tests that need them will be SKIPPED." >&2
fi
exit 0
