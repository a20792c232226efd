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
  dead_before=$(dead_faultbox_cgroups)
  set +e
  if [[ $case == *.cli ]]; then
    args=$(grep -v '^#' "$case")
    (cd "$dir" && eval "\"\$FAULTBOX\" $args") >"$TMP/out" 2>"$TMP/err"
  else
    (cd "$dir" && "$FAULTBOX" test "$name") >"$TMP/out" 2>"$TMP/err"
  fi
  rc=$?
  set -e
  [ "$rc" = "$want_rc" ] || { fail "$name: exit $rc, want $want_rc"; sed 's/^/  stderr: /' "$TMP/err" | head -5; continue; }
  while IFS= read -r want; do
    grep -qF -- "$want" "$TMP/err" || { fail "$name: stderr lacks: $want"; sed 's/^/  stderr: /' "$TMP/err" | head -5; }
  done < <(sed -n 's/^# expect-stderr: //p' "$case")
  # only new leftovers count: another suite may be running beside this one
  new=$(comm -13 <(echo "$dead_before" | sort) <(dead_faultbox_cgroups | sort))
  [ -z "$new" ] || fail "$name: left a faultbox cgroup behind: $new"
done
[ "$(grep -c faultbox /proc/self/mountinfo || true)" = "$mounts_before" ] || fail "faultbox mounts left behind"
[ "$n" -gt 0 ] || fail "no cases found in $dir"
echo "$n cases"
finish
