# Sourced by integration tests. Provides: $FAULTBOX, skip, fail, expect_*.
set -u
: "${FAULTBOX:?FAULTBOX must point at the built binary}"
: "${FAULTBOX_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/fbtest-$TEST_NAME.XXXXXX")
# rm_tmp: rootless runs leave files of subordinate uids (image layers): an
# unprivileged user removes them from a user namespace with its range mapped.
rm_tmp() { rm -rf "$TMP" 2>/dev/null || unshare --map-auto --map-root-user rm -rf "$TMP"; }
trap rm_tmp EXIT
# the bundles failing runs write unasked stay out of the build tree
export FAULTBOX_RUNS_DIR="$TMP/runs"
failures=0

# skip REASON: exit 77 (meson's skip), or fail under FAULTBOX_REQUIRE_ALL=1.
skip() {
  echo "skip: $*"
  if [ "${FAULTBOX_REQUIRE_ALL:-0}" = 1 ]; then
    echo "FAULTBOX_REQUIRE_ALL=1: a skip is a failure"
    exit 1
  fi
  exit 77
}

# need_root: root, or an unprivileged user faultbox runs rootless for (its
# own user namespace); need_real_root: what only the host's root may do.
need_root() { [ "$(id -u)" = 0 ] || unshare -Urn true 2>/dev/null || skip "needs root or unprivileged user namespaces"; }
need_real_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
# rootless_no_cgroup: faultbox runs rootless here without a delegated cgroup
# (FAULTBOX_CGROUP unset): labs have no cgroup, limits are refused.
rootless_no_cgroup() { [ "$(id -u)" != 0 ] && [ -z "${FAULTBOX_CGROUP:-}" ]; }

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# run_fb ARGS...: runs faultbox, capturing stdout/stderr/exit code in
# $TMP/out, $TMP/err and $rc.
run_fb() {
  set +e
  "$FAULTBOX" "$@" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  set -e
}

# prep_specs: copies the tutorial and fixture specs into $TMP with their
# binaries pointing at this build's demo services (specs name
# ../../build/src/demo/X from specs/tutorial, fixtures DEMO/X) and test
# helpers (fixtures HELPERS/X); sets $demo.
prep_specs() {
  demo="$FAULTBOX_BUILD/src/demo"
  local f
  for f in "$FAULTBOX_SRC"/specs/tutorial/*.star "$FAULTBOX_SRC"/tests/integration/specs/*.star; do
    sed -e "s|\.\./\.\./build/src/demo|$demo|g" -e "s|DEMO|$demo|g" -e "s|HELPERS|$FAULTBOX_BUILD/tests/helpers|g" "$f" >"$TMP/$(basename "$f")"
  done
}

# nginx_conf FILE TEXT [SERVER]: an nginx configuration for a lab
# (foreground, its temporary files in the service's /tmp) serving TEXT on
# port 8080, or with the server block SERVER instead.
nginx_conf() {
  local server="server { listen 8080; location / { return 200 \"$2\\n\"; } }"
  [ $# -lt 3 ] || server=$3
  cat >"$1" <<NGX
daemon off;
pid /run/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path /tmp/body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  $server
}
NGX
}

expect_rc() { # expect_rc N DESCRIPTION
  if [ "$rc" = "$1" ]; then ok "$2 (exit $rc)"; else
    fail "$2: expected exit $1, got $rc"; sed 's/^/  stdout: /' "$TMP/out" | head -20; sed 's/^/  stderr: /' "$TMP/err" | head -20; fi
}

expect_out() { # expect_out FILE(out|err) PATTERN (grep -E)
  if grep -Eq -- "$2" "$TMP/$1"; then ok "$1 matches /$2/"; else
    fail "$1 does not match /$2/"; sed "s/^/  $1: /" "$TMP/$1" | head -30; fi
}

expect_no_out() { # expect_no_out FILE PATTERN
  if grep -Eq -- "$2" "$TMP/$1"; then fail "$1 unexpectedly matches /$2/"; sed "s/^/  $1: /" "$TMP/$1" | head -30; else ok "$1 lacks /$2/"; fi
}

# bash_complete WORDS...: what the bash completion offers for the last of
# "faultbox WORDS..." (give "" to complete an empty word).
bash_complete() {
  bash -c '. "$1"; shift; COMP_WORDS=(faultbox "$@"); COMP_CWORD=$#; _faultbox; echo "${COMPREPLY[*]}"' _ \
    "$FAULTBOX_SRC/src/cli/completion/faultbox.bash" "$@"
}

finish() {
  if [ "$failures" -gt 0 ]; then echo "$TEST_NAME: $failures check(s) failed"; exit 1; fi
  echo "$TEST_NAME: all checks passed"
  exit 0
}
set -e

# Lab cgroups (faultbox-<runner pid>-<n>) whose runner is gone: leftovers.
# Cgroups of live runners (another suite running beside this one) are not.
# walkable_root: lets a user other than root walk / (initdb runs as
# postgres): a root made by mktemp -d, as a chroot's from fresh-check, is 0700
walkable_root() { [ -n "$(find / -maxdepth 0 -perm -o=x)" ] || chmod o+rx /; }

# dead_workdirs DIR...: the work directories faultbox-<pid>-* in DIRs whose
# runner is gone (another test's live runner's are not leftovers)
dead_workdirs() {
  local dir d p
  for dir in "$@"; do
    for d in "$dir"/faultbox-[0-9]*; do
      [ -e "$d" ] || continue
      p=$(basename "$d" | cut -d- -f2)
      [ -d "/proc/$p" ] || echo "$d"
    done
  done
}

dead_faultbox_cgroups() {
  find /sys/fs/cgroup -maxdepth 3 -type d -name 'faultbox-*' 2>/dev/null | while read -r d; do
    # faultbox-<pid>-<n> of a lab, faultbox-probe-<pid> of doctor
    pid=$(basename "$d" | sed -En 's/^faultbox-(probe-)?([0-9]+).*/\2/p')
    # (re-checked: a runner that just exited removed its own)
    [ -n "$pid" ] && [ ! -d "/proc/$pid" ] && [ -d "$d" ] && echo "$d"
  done
  true
}
