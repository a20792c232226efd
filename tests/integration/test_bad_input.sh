#!/usr/bin/env bash
# Every case of tests/bad-input/ produces its exact error and exit code, and
# leaves nothing running or mounted.
. "$(dirname "$0")/lib.sh"
# a copy, so that files git cannot store as such can be made: *.noperm
# become mode 000 (an unreadable binary)
dir="$TMP/cases"
cp -r "$FAULTBOX_SRC/tests/bad-input" "$dir"
chmod 000 "$dir"/*.noperm
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
  # faultbox-<pid>-<n>, so leftovers of this case (and only this case) show;
  # setsid makes it a process group leader, so a child it left shows too
  setsid "$FAULTBOX" "$@" </dev/null >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  wait $pid
  rc=$?
  set -e
  [ "$rc" = "$want_rc" ] || { fail "$name: exit $rc, want $want_rc"; sed 's/^/  stderr: /' "$TMP/err" | head -5; continue; }
  for stream in out err; do
    while IFS= read -r want; do
      grep -qF -- "$want" "$TMP/$stream" || { fail "$name: std$stream lacks: $want"; sed "s/^/  std$stream: /" "$TMP/$stream" | head -5; }
    done < <(sed -n "s/^# expect-std$stream: //p" "$case")
  done
  # (find fails when another suite's cgroup vanishes under it)
  left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "faultbox-$pid-*" 2>/dev/null || true)
  [ -z "$left" ] || fail "$name: left a faultbox cgroup behind: $left"
  ! pgrep -g "$pid" >/dev/null || fail "$name: left a process running: $(pgrep -g "$pid" -a)"
done
[ "$(grep -c faultbox /proc/self/mountinfo || true)" = "$mounts_before" ] || fail "faultbox mounts left behind"
[ "$n" -ge 150 ] || fail "only $n cases found in $dir"
echo "$n cases"
finish
