#!/usr/bin/env bash
# Crash safety: SIGKILL of the runner at 50 (CRASH_KILLS) seeded random
# points of a matrix run (-j 2), in two (CRASH_LANES) lanes at once. After each kill every process of that runner (its workers, the
# service inits and services) is gone within a second or so, and the
# next run sweeps the cgroups and work dirs the dead runner left. CRASH_SEED
# replays a run.
# (SIGINT/SIGTERM and their partial results: test_jobs.sh.)
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
spec="$TMP/domain-fixed.star"
seed=${CRASH_SEED:-20261202}
kills=${CRASH_KILLS:-50}
echo "seed $seed (CRASH_SEED=$seed replays these kill points)"
links_before=$(ip -o link | wc -l)
mounts_before=$(grep -c faultbox /proc/self/mountinfo || true)

# tree PID: PID's direct children (its workers) on the first line, every
# process below it on the second, from one ps snapshot
tree() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { print kids[root]; n = split(kids[root], q, " ")
          for (i = 1; i <= n; i++) { m = split(kids[q[i]], c, " "); for (j = 1; j <= m; j++) q[++n] = c[j] }
          for (i = 1; i <= n; i++) printf "%s ", q[i]; print "" }'
}
# lab_cgroups PID...: the lab cgroups (v2 and v1 controllers) of these runners
lab_cgroups() {
  local all p
  all=$(find /sys/fs/cgroup -maxdepth 2 -type d -name 'faultbox-*' 2>/dev/null || true)
  for p in "$@"; do grep "/faultbox-$p-[0-9]*\$" <<<"$all" || true; done
}
# alive PID...: those that still run (a zombie has already died)
alive() {
  local p s
  for p in "$@"; do
    s=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) || continue
    [ -z "$s" ] || [ "$s" = Z ] || echo "$p"
  done
}

# lane L N: N kills one after another, with their own seeded kill points;
# what it found goes to lane-L.* files, its FAIL lines to its stdout (a
# subshell: lib.sh's counter stays in the caller)
lane() {
  local l=$1 n=$2 i pid ms workers below t0 took survivors cg left
  local runners procs cgs pending=() killed=() worst_ms=0 with_services=0 swept=0
  RANDOM=$((seed + l))
  for i in $(seq "$n"); do
    "$FAULTBOX" test "$spec" -j 2 --no-progress >"$TMP/run-$l.out" 2>&1 &
    pid=$!
    disown $pid # (no "Killed" notice; bash still reaps it)
    # kill points over the first 3 s (healthchecks, tests, teardowns), one in
    # five in the first 100 ms (spec load, sweep, the first labs' set-up)
    if [ $((RANDOM % 5)) = 0 ]; then ms=$((RANDOM % 100)); else ms=$((RANDOM % 3000)); fi
    sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
    { read -r workers; read -r below; } < <(tree $pid)
    kill -9 $pid
    t0=$(date +%s%N)
    runners=($pid $workers)
    procs=($below)
    # a dead runner's cgroups stay until a sweep; the processes in them count
    # too, should one have been forked after the snapshot
    cgs=($(lab_cgroups "${runners[@]}"))
    for cg in "${cgs[@]}"; do
      procs+=($(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null || true))
    done
    # this run made labs, so its sweep (before any lab) is done: the cgroups
    # of the runners this lane killed before it must be gone
    if [ "${#cgs[@]}" -gt 0 ] && [ "${#pending[@]}" -gt 0 ]; then
      left=$(lab_cgroups "${pending[@]}")
      [ -z "$left" ] || fail "lane $l kill $i: the run did not sweep the cgroups of dead runners: $left"
      swept=$((swept + 1))
      pending=()
    fi
    while :; do
      survivors=$(alive "${procs[@]}")
      [ -n "$survivors" ] || break
      [ $(($(date +%s%N) - t0)) -lt 3000000000 ] || break
      sleep 0.05
    done
    took=$((($(date +%s%N) - t0) / 1000000))
    [ "$took" -le "$worst_ms" ] || worst_ms=$took
    if [ -n "$survivors" ]; then
      fail "lane $l kill $i at ${ms}ms: still running ${took}ms after the runner died:"
      ps -o pid,ppid,stat,cmd -p "$(echo $survivors | tr ' ' ,)" | sed 's/^/  /'
    fi
    [ "${#procs[@]}" -le 2 ] || with_services=$((with_services + 1))
    pending+=("${runners[@]}")
    killed+=("${runners[@]}")
  done
  echo "${pending[*]}" >"$TMP/lane-$l.pending"
  echo "${killed[*]}" >"$TMP/lane-$l.killed"
  echo "$worst_ms $with_services $swept" >"$TMP/lane-$l.counts"
}
# the kills in CRASH_LANES lanes at once: each lane waits out its kill
# points, so two overlap on two cores
lanes=${CRASH_LANES:-2}
for l in $(seq "$lanes"); do
  lane "$l" $(((kills + lanes - l) / lanes)) >"$TMP/lane-$l.log" 2>&1 &
done
wait
cat "$TMP"/lane-*.log
failures=$((failures + $(cat "$TMP"/lane-*.log | grep -c '^FAIL:' || true)))
pending=($(cat "$TMP"/lane-*.pending))
killed=($(cat "$TMP"/lane-*.killed))
worst_ms=0 with_services=0 swept=0
while read -r w s c; do
  [ "$w" -le "$worst_ms" ] || worst_ms=$w
  with_services=$((with_services + s)) swept=$((swept + c))
done < <(cat "$TMP"/lane-*.counts)
ok "$kills kills at 0-3 s ($with_services with services up): every process of the runner gone within ${worst_ms}ms at worst"

# a last run to the end sweeps what the last kills left
"$FAULTBOX" test "$spec" --test "$("$FAULTBOX" list "$spec" | head -1)" --no-progress >"$TMP/run.out" 2>&1 ||
  { fail "a run after the kills failed"; sed 's/^/  /' "$TMP/run.out" | tail -20; }
left=$(lab_cgroups "${pending[@]}")
[ -z "$left" ] && ok "the next runs swept the dead runners' cgroups ($((swept + 1)) sweeps checked)" ||
  fail "cgroups of dead runners left after a full run: $left"
# The sweep takes a dead lab's work dir with its cgroup. One made in the
# instant before its lab's first cgroup, or after the teardown removed it,
# has nothing that marks it unfinished (nor one whose cgroup another
# runner's older build swept): those stay, counted here, then removed.
# (kept dirs and tmpfs-less hosts use /tmp; the tmpfs base is swept whole)
stray=$(for r in "${killed[@]}"; do ls -d /tmp/faultbox-"$r"-* 2>/dev/null; done | wc -l)
echo "work dirs left by the $kills dead runners in /tmp: $stray"
for r in "${killed[@]}"; do rm -rf /tmp/faultbox-"$r"-*; done
shm=$(for r in "${killed[@]}"; do ls -d /dev/shm/faultbox-"$r"-* 2>/dev/null || true; done)
[ -z "$shm" ] && ok "no work dir of a dead runner left in /dev/shm" || fail "work dirs left in /dev/shm: $shm"

# One lab surely up when its runner dies: the next run removes its cgroups
# and its work dir.
"$FAULTBOX" lab --service 'sleeper=/bin/sleep 1000' >"$TMP/lab.out" 2>&1 &
pid=$!
disown $pid
for _ in $(seq 100); do grep -q '^sleeper' "$TMP/lab.out" && break; sleep 0.1; done
labs=$(lab_cgroups $pid | xargs -rn1 basename | sort -u)
[ -n "$labs" ] || fail "the lab made no cgroup"
kill -9 $pid
for _ in $(seq 30); do pgrep -f 'sleep 1000' >/dev/null || break; sleep 0.1; done
"$FAULTBOX" lab --service 't=/bin/true' --run true >"$TMP/sweep.out" 2>&1 || fail "the sweeping lab failed"
for l in $labs; do
  [ -z "$(lab_cgroups $pid)" ] && [ ! -e "/tmp/$l" ] && [ ! -e "/dev/shm/$l" ] && ok "a dead lab's cgroups and work dir swept ($l)" ||
    fail "left by a dead lab: $(lab_cgroups $pid) $(ls -d /tmp/$l /dev/shm/$l 2>/dev/null)"
done
[ "$(ip -o link | wc -l)" = "$links_before" ] && ok "no link left" || fail "links changed: $(ip -o link)"
[ "$(grep -c faultbox /proc/self/mountinfo || true)" = "$mounts_before" ] && ok "no mount left" || fail "faultbox mounts left"
finish
