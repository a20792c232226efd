#!/usr/bin/env bash
# Time and waiting against the demo services: duration(), sleep() (and
# under --virtual-time), await_event, await_stable, eventually/always,
# test() with its verdicts (INCONCLUSIVE: exit 3), data files beside the
# spec, the outcome predicates and fault_all.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
cp -r "$FAULTBOX_SRC/tests/integration/specs/time-data" "$TMP/"
cd "$TMP"

ms() { date +%s%3N; }

run_fb test time.star --format json --output time.json --junit time.xml
expect_rc 2 "time.star: failures on purpose"
for t in data_files durations await_event await_stable eventually_pass always_pass always_between anchored; do
  expect_out err "^--- PASS: test_$t \("
done
expect_out err '^--- FAIL: test_await_event_timeout .*'
expect_out err 'reason: time.star:[0-9]+:5: await_event: no matching event within 3[0-9]{2}\.?[0-9]*ms \(timeout=\)$'
expect_out err 'await_stable: events still arriving after 8[0-9]{2}\.?[0-9]*ms \(quiescence_window=1s\)$'
expect_out err 'reason: eventually\(two_replies\): never satisfied before body returned$'
# found at the second send's event, which stops the body there
# (caught inside the second send, or just after it returns when the reply
# beat the check: with or without the step's position)
expect_out err 'reason: (time.star:12:12: )?always\(at_most_one_send\): violated at event [0-9]+$'
expect_out err 'reason: setup: fail: no fixtures$'
expect_out err 'reason: eventually\(lambda\): never satisfied; terminate_when fired$'
expect_out err 'sleep: sleep\(2s\) is longer than the test.s remaining budget'
expect_out err '^--- INCONCLUSIVE: test_hangs \('
expect_out err '^--- INCONCLUSIVE: test_spins \('
expect_out err '^8 passed, 7 failed, 2 inconclusive$'
expect_out err '^  test_hangs: test timeout: temporal expectation\(s\) still pending after 700ms$'
expect_out err '^  test_spins: test timeout: body did not complete within 500ms$'
if python3 - time.json <<'PY'
import json, sys
t = {t["name"]: t for t in json.load(open(sys.argv[1]))["tests"]}
assert t["test_hangs"]["result"] == "inconclusive", t["test_hangs"]["result"]
# the timeout really stopped the hung bodies (await for 1h, a 10^9 loop)
assert t["test_hangs"]["duration_ms"] < 5000 and t["test_spins"]["duration_ms"] < 5000
assert t["test_always_fail"]["result"] == "fail"
# the always window was open only between the first reply and the end
assert t["test_always_between"]["result"] == "pass"
PY
then ok "JSON results: inconclusive, and the hung bodies stopped at their timeouts"; else fail "JSON results"; fi
grep -q '<skipped message="inconclusive: test timeout' time.xml && grep -q 'skipped="2"' time.xml \
  && ok "JUnit: inconclusive tests are skipped" || fail "JUnit lacks the skipped tests"

# only inconclusive: exit 3 (with failures, as above, 2)
run_fb test time.star --test spins
expect_rc 3 "inconclusive only"
expect_out out '^0 passed, 0 failed, 1 inconclusive$'

# fault_all on two services; the outcome predicates, a timed-out scenario
# judged as None
run_fb test time-outcomes.star
expect_rc 2 "time-outcomes.star: failures on purpose"
for t in fault_all success_ok error_ok hang_ok; do
  expect_out out "^--- PASS: test_$t \("
done
expect_out out 'reason: expect_success: status_code=503 \(want < 500\)$'
expect_out out 'reason: expect_error_within: took 900ms — exceeded budget 100ms$'
expect_out out 'reason: expect_error_within: scenario returned success \(status=200\) — expected an error$'
expect_out out 'reason: expect_hang: scenario returned \{"status_code": 200, "reply": "PONG"\} — expected it to hang'
expect_out out 'reason: expect_success: scenario returned None \(did it complete\?\)$'
expect_out out 'fault rule on db: write=delay\(150ms\)'
expect_out out 'fault rule on db2: write=delay\(150ms\)'
expect_out out '^4 passed, 5 failed$'

# sleep() under --virtual-time: 650 s on the service's clock, no wall time
t0=$(ms); run_fb test time-virtual.star --virtual-time --show all; took=$(($(ms) - t0))
expect_rc 0 "virtual sleeps"
[ "$took" -lt 5000 ] && ok "an hour and 650 s of sleep took $took ms" || fail "virtual sleeps took $took ms"
expect_out out 'clock_gettime +virtual_time\(650s\)'
run_fb test time-virtual.star --test virtual_sleep_budget
expect_rc 2 "without --virtual-time an hour does not fit 2 s"
expect_out out 'sleep: sleep\(3600s\) is longer than the test.s remaining budget'

finish
