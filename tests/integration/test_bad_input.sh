#!/usr/bin/env bash
# Every case of tests/bad-input/ produces its exact error and exit code, and
# leaves nothing running or mounted.
. "$(dirname "$0")/lib.sh"
dir="$FAULTBOX_SRC/tests/bad-input"
mounts_before=$(grep -c faultbox /proc/self/mountinfo || true)
n=0
for case in "$dir"/*.star "$dir"/*.cli; do
  [ -e "$case" ] || continue
  n=$((n + 1))
  name=$(basename "$case")
  want_rc=$(sed -n 's/^# expect-exit: //p' "$case")
  set +e
  cd "$dir"
  if [[ $case == *.cli ]]; then
    eval "set -- $(grep -v '^#' "$case")"
  else
    set -- test "$name"
  fi
  # in the background, to know the runner's pid: its cgroups are named
  # faultbox-<pid>-<n>, so leftovers of this case (and only this case) show
  "$FAULTBOX" "$@" >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  wait $pid
  rc=$?
  set -e
  [ "$rc" = "$want_rc" ] || { fail "$name: exit $rc, want $want_rc"; sed 's/^/  stderr: /' "$TMP/err" | head -5; continue; }
  while IFS= read -r want; do
    grep -qF -- "$want" "$TMP/err" || { fail "$name: stderr lacks: $want"; sed 's/^/  stderr: /' "$TMP/err" | head -5; }
  done < <(sed -n 's/^# expect-stderr: //p' "$case")
  left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "faultbox-$pid-*" 2>/dev/null)
  [ -z "$left" ] || fail "$name: left a faultbox cgroup behind: $left"
done
[ "$(grep -c faultbox /proc/self/mountinfo || true)" = "$mounts_before" ] || fail "faultbox mounts left behind"
[ "$n" -gt 0 ] || fail "no cases found in $dir"
echo "$n cases"
finish
