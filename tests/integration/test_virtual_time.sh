#!/usr/bin/env bash
# --virtual-time: a test whose delay("2s") fault waits at least 2 s without
# the flag finishes at once with it, the delay still in its trace; a
# service's nanosleep and clock_nanosleep of 5 s each return at once and
# its clock_gettime syscall reads the virtual clock.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
spec="$TMP/virtual-time.star"

ms() { date +%s%3N; }

run_fb test "$spec" --dry-run --virtual-time
expect_out out '^  sleeper  \(seccomp filter: .*nanosleep,clock_nanosleep,clock_gettime.*\)$'

# the step's round trip, from the test's own events: what the delay adds,
# whatever the lab's start-up costs on a loaded machine (on the virtual
# clock under --virtual-time)
step_ms() {
  python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["tests"][0]["events"]
t = [e["timestamp"] for e in ev if e["type"] in ("step_send", "step_recv")]
print((t[1] - t[0]) // 1000000)' "$TMP/out"
}

t0=$(ms); run_fb test "$spec" --test delayed --format json; real_ms=$(($(ms) - t0))
expect_rc 0 "delay fault without --virtual-time"
real_step=$(step_ms)
[ "$real_step" -ge 2000 ] && [ "$real_ms" -ge 2000 ] && ok "without the flag the delay is waited (step $real_step ms, test $real_ms ms)" \
  || fail "without --virtual-time the 2 s delay took $real_step ms (test $real_ms ms)"

t0=$(ms); run_fb test "$spec" --test delayed --virtual-time --format json; virtual_ms=$(($(ms) - t0))
expect_rc 0 "delay fault under --virtual-time"
virtual_step=$(step_ms)
# not waited, yet the trace's timestamps follow the virtual clock: the step
# took as long as without the flag
[ "$virtual_step" -ge 2000 ] && [ "$virtual_ms" -lt "$real_ms" ] \
  && ok "under --virtual-time it is not waited (test $virtual_ms ms), the trace says $virtual_step ms" \
  || fail "under --virtual-time: step $virtual_step ms on the trace, test $virtual_ms ms"
# the trace still says what was delayed, and on which clock
expect_out out '"decision":"delay\(2s\)"'
expect_out out '"virtual_ms":"2000"'

# 2 x 5 s of the service's own sleeps: the spec asserts real < 1 s and the
# syscall clock at 10 s; the trace names them
t0=$(ms); run_fb test "$spec" --test sleeps --virtual-time --show all; sleep_ms=$(($(ms) - t0))
expect_rc 0 "nanosleep and clock_nanosleep under --virtual-time"
[ "$sleep_ms" -lt 5000 ] && ok "10 s of sleeps took $sleep_ms ms" || fail "the sleeps took $sleep_ms ms"

# a failure's replay line keeps the flag
printf 'def test_x():\n    fail("boom")\n' >"$TMP/fails.star"
run_fb test "$TMP/fails.star" --virtual-time
expect_rc 2 "failing test"
expect_out out 'replay: faultbox test .*fails.star --test x --seed 0 --virtual-time$'

# help, man page and completions know the flag
"$FAULTBOX" help test | grep -q -- '--virtual-time' && ok "help shows --virtual-time" || fail "help lacks --virtual-time"
[ "$(bash_complete test --virt)" = "--virtual-time" ] && ok "bash completes --virtual-time" || fail "bash: --virt gave $(bash_complete test --virt)"
grep -q -- "'--virtual-time\\[" "$FAULTBOX_SRC/src/cli/completion/_faultbox" && ok "zsh completes --virtual-time" || fail "zsh lacks it"
grep -q 'vDSO' "$FAULTBOX_SRC/doc/faultbox.1" && ok "man page warns about the vDSO" || fail "man page lacks the vDSO note"
finish
