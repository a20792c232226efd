#!/usr/bin/env bash
# `faultbox test -j N`: tests in parallel workers print what a serial run
# prints, in the same order with the same seeds; SIGINT/SIGTERM stop a run
# at once, report what finished and leave nothing behind.
. "$(dirname "$0")/lib.sh"
need_root
demo="$FAULTBOX_BUILD/src/demo"
for f in "$FAULTBOX_SRC"/tests/integration/specs/{failures,stuck}.star "$FAULTBOX_SRC"/specs/tutorial/first-test.star; do
  sed -e "s|\.\./\.\./build/src/demo|$demo|g" -e "s|DEMO|$demo|g" "$f" >"$TMP/$(basename "$f")"
done
cd "$TMP"
# durations, socket inodes in a trace and the name of the bundle each
# failing run keeps are the only things that may differ between runs
strip_times() { sed -E -e 's/\([0-9]+ms, /(Nms, /' -e 's/socket:\[[0-9]+\]/socket:[N]/' -e 's|/runs/[0-9]{8}-[0-9]{6}-[0-9]+ |/runs/RUN |' "$1"; }

# the first test is the slowest: with -j 3 the others finish first
{ sed -n '/^db = service/,/^)/p' failures.star
  printf 'def test_a_slow():\n    fault(db, write = delay("1s"), run = lambda: db.main.send(data = "PING"))\n'
  for t in b c d; do printf 'def test_%s_quick():\n    assert_eq(db.main.send(data = "PING"), "PONG")\n' "$t"; done
} >slow-first.star

# (the tutorial's test_write_failure waits out mock-api's 5 s deadline: it
# runs once)
for spec in slow-first.star:2 failures.star:2 first-test.star:1; do
  runs=${spec#*:} spec=${spec%:*}
  run_fb test -j 1 --seed 7 --runs "$runs" "$spec"
  cp out serial.txt; serial_rc=$rc
  run_fb test -j 3 --seed 7 --runs "$runs" "$spec"
  cp out parallel.txt
  if [ "$rc" = "$serial_rc" ] && diff <(strip_times serial.txt) <(strip_times parallel.txt) >diff.txt; then
    ok "$spec: -j 3 prints what -j 1 prints (exit $rc)"
  else
    fail "$spec: -j 3 differs from -j 1 (exit $rc vs $serial_rc)"; sed 's/^/  /' diff.txt
  fi
  # --runs 2 ran every test twice in its worker, a faulted one too
  [ "$spec" != slow-first.star ] || expect_out out '^--- PASS: test_a_slow \(2/2 runs\) ---$'
done
expect_out out '^--- PASS: test_write_failure \([0-9]+ms, seed=7\) ---$'

run_fb test -j 0 failures.star
expect_rc 1 "-j 0 is refused"
expect_out err 'test: -j: number 0 out of range'
run_fb test -j failures.star
expect_rc 1 "-j without a number"

# progress: a live line on a terminal only
expect_no_out err '\[[0-9]+/[0-9]+\]'
if command -v script >/dev/null; then
  script -qec "'$FAULTBOX' test -j 2 failures.star" /dev/null >tty.txt || true
  grep -aEq $'\r\033\\[K\\[[0-4]/4\\] test_[a-z_]+ … [0-9]+s, [0-9] failed' tty.txt && ok "live progress line on a terminal" \
    || { fail "no progress line on a terminal"; cat -v tty.txt | head -5; }
  grep -aq '^2 passed, 2 failed' tty.txt && ok "summary after the progress line" || fail "summary on a terminal"
  script -qec "'$FAULTBOX' test -j 2 --no-progress failures.star" /dev/null >tty.txt || true
  grep -aq '\[[0-4]/4\]' tty.txt && fail "--no-progress still draws" || ok "--no-progress draws nothing"
fi

# descendants PID: every process below PID (workers, labs, services)
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }

# held_writes PID: how many mock-db processes below PID have a thread in
# write(2)
write_nr=$(case $(uname -m) in aarch64) echo 64 ;; *) echo 1 ;; esac)
held_writes() {
  local p n=0
  for p in $(descendants "$1"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mock-db ] || continue
    cut -d' ' -f1 /proc/"$p"/task/*/syscall 2>/dev/null | grep -qx "$write_nr" && n=$((n + 1))
  done
  echo $n
}

# interrupt SIGNAL JOBS EXIT NOT_RUN: a run with both stuck tests blocked,
# stopped by SIGNAL
interrupt() {
  "$FAULTBOX" test -j "$2" --no-progress --output "report-$1.json" stuck.star >out 2>err &
  local pid=$! i procs=""
  for i in $(seq 1 100); do grep -q 'PASS: test_a_quick' out && break; sleep 0.1; done
  # the stuck ones are blocked in their step once as many dbs as run sit in
  # their reply's write, held by the fault
  for i in $(seq 1 60); do [ "$(held_writes "$pid")" -ge "$2" ] && break; sleep 0.05; done
  procs=$(descendants "$pid")
  local workers; workers=$(pgrep -P "$pid" | tr '\n' ' ')
  local t0; t0=$(date +%s%N)
  kill "-$1" "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  expect_rc "$3" "SIG$1 with -j $2"
  [ "$ms" -lt 3000 ] && ok "stopped in ${ms}ms" || fail "stopping took ${ms}ms"
  expect_out out '^--- PASS: test_a_quick'
  expect_no_out out 'test_(b|c)_stuck'
  expect_out out '^1 passed, 0 failed$'
  expect_out out "^interrupted: $4 tests not run$"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["not_run"]==int(sys.argv[2]) and len(d["tests"])==1' \
    "report-$1.json" "$4" && ok "JSON report counts $4 not run" || fail "JSON report of the interrupted run"
  local left="" p
  # zombies are dead: orphans wait for PID 1 to reap them; one still in its
  # exit path (its memory gone: an empty cmdline; under ASan the leak check
  # runs there) gets five seconds to finish
  local tries
  for p in $procs; do
    for tries in $(seq 50); do running "$p" || break; sleep 0.1; done
    running "$p" && left="$left $p($(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" || true))"
  done
  [ -z "$left" ] && ok "no process left running" || fail "processes left running:$left"
  for p in $workers; do
    ls -d /dev/shm/faultbox-"$p"-* /tmp/faultbox-"$p"-* >/dev/null 2>&1 && fail "work directory of worker $p left" || ok "worker $p left no work directory"
    [ -z "$(find /sys/fs/cgroup -maxdepth 3 -name "faultbox-$p-*")" ] && ok "worker $p left no cgroup" || fail "cgroup of worker $p left"
  done
}
running () { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
interrupt INT 2 130 3
interrupt TERM 1 143 3
finish
