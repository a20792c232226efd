#!/usr/bin/env bash
# `faultbox test` end to end: the tutorial specs against the demo services,
# output lines, exit codes, selection, reports, and tests that fail for a
# clear reason (missing binary, never healthy, port in use, no connection).
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
cd "$TMP"

# chapter 2
run_fb test first-test.star
expect_rc 0 "first-test.star passes"
for t in ping set_and_get happy_path write_failure; do
  expect_out out "^--- PASS: test_$t \([0-9]+ms, seed=0\) ---$"
done
expect_out out 'fault rule on db: write=deny\(EIO\) → filter:\[write,writev,pwrite64,pwritev,pwritev2\] label="disk failure" \([1-9][0-9]* hits\)'
expect_out out '^4 passed, 0 failed$'

run_fb test first-test.star --test set_and_get
expect_rc 0 "--test short name"
expect_out out '^--- PASS: test_set_and_get'
expect_no_out out 'test_ping'
expect_out out '^1 passed, 0 failed$'

run_fb test first-test.star --test '*p*'
expect_rc 0 "--test glob"
expect_out out '^2 passed, 0 failed$'

run_fb test first-test.star --test nosuch
expect_rc 1 "--test without a match"
expect_out err 'no test matched filter "nosuch" \(available: test_happy_path, test_ping, test_set_and_get, test_write_failure\)'

run_fb test first-test.star --dry-run
expect_rc 0 "--dry-run"
expect_out out '^Services: 2$'
expect_out out '^  db  \(seccomp filter: write,writev,pwrite64,pwritev,pwritev2\)$'
expect_out out '^Tests: 4$'

# chapter 3
run_fb test fault-injection.star --format json --output report.json --junit junit.xml
expect_rc 0 "fault-injection.star passes"
expect_out err '^9 passed, 0 failed$'
expect_out err 'fault rule on inventory: wal_write=deny\(EIO\) .*label="WAL broken" \([1-9]'
expect_out err 'fault rule on api: connect=deny\(ECONNREFUSED\) → filter:\[connect\] \([1-9]'
if python3 -c 'import json,sys; d=json.load(open("report.json")); assert d["version"]==2 and d["pass"]==9 and d["fail"]==0, d["pass"]; assert json.load(open(sys.argv[1]))["tests"][0]["events"]' "$TMP/out"; then
  ok "JSON report on stdout and --output"; else fail "JSON report"; fi
if xmllint --noout --schema "$FAULTBOX_SRC/tests/integration/junit.xsd" junit.xml 2>"$TMP/xml"; then ok "JUnit XML validates against junit.xsd"; else fail "junit.xml: $(cat "$TMP/xml")"; fi
grep -q 'tests="9"' junit.xml && ok "JUnit counts 9 tests" || fail "JUnit test count"

# chapter 5
run_fb test concurrency.star
expect_rc 0 "concurrency.star passes"
expect_out out '^--- PASS: test_no_oversell'
expect_out out '^2 passed, 0 failed$'

# failures with reasons
run_fb test failures.star --seed 7
expect_rc 2 "failing tests exit 2"
expect_out out '^--- FAIL: test_assert_fails \([0-9]+ms, seed=7\) ---$'
expect_out out '^  reason: failures.star:9:5: assert_eq: got "PONG", want "PANG"$'
expect_out out '^  replay: faultbox test failures.star --test assert_fails --seed 7$'
expect_out out '^  reason: failures.star:12:5: fail: the database said PONG$'
expect_out out '^--- PASS: test_returns_value'
expect_out out 'WARNING: fault rules were installed but no injections fired'
expect_out out "hint: db never called connect\(\) while the rule was installed$"
expect_out out '^2 passed, 2 failed$'

run_fb test missing-binary.star
expect_rc 1 "a missing binary is the spec's error"
expect_out err "^missing-binary.star:1:6: service db: cannot execute $TMP/no-such-binary: No such file or directory$"

run_fb test never-healthy.star
expect_rc 2 "a healthcheck that never passes fails the test"
expect_out out 'reason: failed to start services: service db not ready after 1s \(healthcheck tcp localhost:9999: .*\); its output: .*mock-db: listening on :5432'

run_fb test port-in-use.star
expect_rc 2 "a port already bound fails the test"
expect_out out 'reason: failed to start services: service db exited with status 1 before it was ready; its output: .*(in use|bind)'

run_fb test cannot-connect.star
expect_rc 2 "a step that cannot connect fails the test"
expect_out out 'reason: cannot-connect.star:6:5: ghost.main.send: tcp send to 10\.213\.0\.[0-9]+:7000 failed: connect: Connection refused \(service ghost\)$'

run_fb test oom.star
expect_rc 2 "a service over its memory_max fails the test"
expect_out out 'reason: failed to start services: service hog exited with status 137 before it was ready \(killed by the OOM killer: memory limit\)'

[ -z "$(dead_faultbox_cgroups)" ] || fail "cgroups left behind: $(dead_faultbox_cgroups)"
finish
