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
# check_case CASE OUT: one case, its output files named OUT.*; prints FAIL
# lines (run in a subshell, so lib.sh's counter stays in the caller)
check_case() {
  local case=$1 o=$2 name want_rc pid rc stream want left
  name=$(basename "$case")
  want_rc=$(sed -n 's/^# expect-exit: //p' "$case")
  cd "$dir"
  if [[ $case == *.cli ]]; then
    eval "set -- $(grep -v '^#' "$case")"
  else
    set -- test "$name"
  fi
  # in the background, to know the runner's pid: its cgroups are named
  # faultbox-<pid>-<n>, so leftovers of this case (and only this case) show;
  # setsid makes it a process group leader, so a child it left shows too
  setsid "$FAULTBOX" "$@" </dev/null >"$o.out" 2>"$o.err" &
  pid=$!
  set +e
  wait $pid
  rc=$?
  set -e
  [ "$rc" = "$want_rc" ] || { fail "$name: exit $rc, want $want_rc"; sed 's/^/  stderr: /' "$o.err" | head -5; return; }
  for stream in out err; do
    while IFS= read -r want; do
      grep -qF -- "$want" "$o.$stream" || { fail "$name: std$stream lacks: $want"; sed "s/^/  std$stream: /" "$o.$stream" | head -5; }
    done < <(sed -n "s/^# expect-std$stream: //p" "$case")
  done
  # (find fails when another suite's cgroup vanishes under it)
  left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "faultbox-$pid-*" 2>/dev/null || true)
  [ -z "$left" ] || fail "$name: left a faultbox cgroup behind: $left"
  ! pgrep -g "$pid" >/dev/null || fail "$name: left a process running: $(pgrep -g "$pid" -a)"
}
# the huge-* cases (limits of memory and steps) take seconds, the others
# milliseconds: they go first, one to each shard
cases=("$dir"/huge-*.star)
for case in "$dir"/*.star "$dir"/*.cli; do
  [ -e "$case" ] && [[ ${case##*/} != huge-* ]] && cases+=("$case")
done
n=${#cases[@]}
# two shards at once: the cases are independent and mostly wait on the runner
shards=2
for s in $(seq 0 $((shards - 1))); do
  (for ((i = s; i < n; i += shards)); do check_case "${cases[$i]}" "$TMP/shard$s"; done) >"$TMP/shard$s.log" 2>&1 &
done
wait
cat "$TMP"/shard*.log
failures=$((failures + $(cat "$TMP"/shard*.log | grep -c '^FAIL:' || true)))
[ "$(grep -c faultbox /proc/self/mountinfo || true)" = "$mounts_before" ] || fail "faultbox mounts left behind"
[ "$n" -ge 150 ] || fail "only $n cases found in $dir"
echo "$n cases"
finish
