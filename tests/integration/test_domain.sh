#!/usr/bin/env bash
# Chapters 4, 6, 14 and 15 end to end: traces and assertions over them,
# monitors, scenarios, fault assumptions, fault_scenario and fault_matrix,
# against the demo services — passing specs and specs failing on purpose.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
cd "$TMP"

# chapter 6: the seed's spec, as written
run_fb test domain-test.star
expect_rc 0 "domain-test.star passes"
for t in health_check matrix_health_check_db_down matrix_health_check_disk_full \
         matrix_order_flow_db_down matrix_order_flow_disk_full order_flow; do
  expect_out out "^--- PASS: test_$t \([0-9]+ms, seed=0\) ---$"
done
expect_out out '^Fault Matrix: 2 scenarios × 2 faults = 4 cells$'
expect_out out '^                    │ db_down       │ disk_full'
expect_out out '^────────────────────┼───────────────┼'
expect_out out '^order_flow          │ PASS \([0-9]+ms\) +│ PASS \([0-9]+ms\)$'
expect_out out '^health_check        │ PASS \([0-9]+ms\) +│ PASS \([0-9]+ms\)$'
expect_out out '^Result: 4/4 passed$'
expect_out out '^6 passed, 0 failed$'
# target=db with connect=deny never fires: said, with the fix
expect_out out 'hint: db never called connect\(\) while the rule was installed: it accepts connections, its callers connect; to make calls to db fail, fault the caller: fault\(api, connect=deny\("ECONNREFUSED", to=db\)'
[ "$(grep -c 'WARNING: fault rules were installed but no injections fired' "$TMP/out")" -ge 2 ] \
  && ok "a warning under each db_down cell" || fail "db_down warnings"

# the corrected chapter: faults fire, fault_scenario, composition, 2x3 table
run_fb test domain-fixed.star --format json --output domain.json
expect_rc 0 "domain-fixed.star passes"
expect_out err '^Fault Matrix: 2 scenarios × 3 faults = 6 cells$'
expect_out err '^                    │ db_down +│ disk_full +│ slow_network$'
expect_out err '^Result: 6/6 passed$'
expect_out err '^11 passed, 0 failed$'
expect_out err '^--- PASS: test_order_db_down'
expect_out err '^--- PASS: test_order_happy'
expect_out err '^--- PASS: test_order_cascade'
if python3 - "$TMP/domain.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["matrix"]
assert m["scenarios"] == ["order_flow", "health_check"], m["scenarios"]
assert m["faults"] == ["db_down", "disk_full", "slow_network"], m["faults"]
assert m["total"] == 6 and m["passed"] == 6, m
cells = {(c["scenario"], c["fault"]): c for c in m["cells"]}
assert cells[("order_flow", "db_down")]["passed"]
t = {t["name"]: t for t in d["tests"]}
f = t["test_matrix_order_flow_db_down"]["faults"]
assert f[0]["service"] == "api" and f[0]["hits"] >= 1, f
# events carry vector clocks; a step carries the driver's clock
ev = t["test_order_flow"]["events"]
assert all("vector_clock" in e for e in ev), ev[0]
recv = [e for e in ev if e["type"] == "step_recv"][-1]
assert recv["vector_clock"]["test"] >= 2 and recv["vector_clock"].get("api", 0) >= 1, recv
# the scenario's return value is the observable
assert "status" in t["test_order_flow"]["return_value"], t["test_order_flow"]
PY
then ok "matrix JSON: axes, cells, fired faults, return values"; else fail "matrix JSON"; fi

# chapter 4: traces
run_fb test traces.star
expect_rc 0 "traces.star passes"
expect_out out '^7 passed, 0 failed$'
expect_out out 'trace rule on inventory: syscalls=\[write,openat,fsync\] → filter:\[write,writev,pwrite64,pwritev,pwritev2,open,openat,openat2,creat,fsync,fdatasync\] \([1-9][0-9]* hits\)'
expect_out out 'label="slow WAL" \(1 hits\)'
expect_out out '^  syscall trace \([0-9]+ events\):$'
expect_out out '^    #[0-9]+ +inventory +write +delay\(100ms\)  \[slow WAL\]  /tmp/inventory\.wal  \(\+100ms\)$'
expect_out out '^    #[0-9]+ +inventory +write +trace  /tmp/inventory\.wal$'

# chapters 14 and 15: invariants and monitors
run_fb test monitors.star
expect_rc 0 "monitors.star passes"
expect_out out '^Result: 2/2 passed$'
expect_out out '^4 passed, 0 failed$'

# failing on purpose, each with its reason
run_fb test domain-failures.star
expect_rc 2 "domain-failures.star fails"
reason() { # reason TEST REGEX
  if grep -A1 -E "^--- FAIL: test_$1 " "$TMP/out" | grep -qE "^  reason: $2"; then ok "test_$1: $2"
  else fail "test_$1 reason, want /$2/:"$'\n'"$(grep -A1 -E "^--- (PASS|FAIL): test_$1 " "$TMP/out")"; fi
}
reason eventually_fails '.*assert_eventually: no matching event found \(filters: service=inventory syscall=fsync path=\*\.nope\)$'
reason never_fails '.*assert_never: found matching event #[0-9]+ \(service=inventory syscall=write decision=allow path=/tmp/inventory\.wal\)$'
reason before_fails '.*assert_before: first \(service=inventory syscall=fsync\) is event #[0-9]+, not before then \(service=inventory syscall=write path=\*\.wal\) at #[0-9]+$'
expect_out out '^--- PASS: test_where '
reason local_monitor 'monitor violation: inventory wrote its WAL$'
reason counting_monitor 'monitor violation: monitor "wal_once" violated at event seq=[0-9]+ type=syscall service=inventory$'
reason assumption_monitor 'monitor violation: monitor "any_deny" violated at event seq=[0-9]+ type=syscall service=inventory$'
expect_out out '^  per-service syscall summary:$'
expect_out out '^    inventory [0-9]+ total, 1 faulted  \[.*fsync:1'
reason expect_fails '.*assert_eq: got 503, want 200: the order should go through$'
reason matrix_one_order_never_fires 'fault bypassed: no rule of never_fires fired \(require_faults_fire=True\)$'
expect_out out '^--- PASS: test_matrix_one_order_orders_cut '
expect_out out '^two_orders +│ — \(excluded\) +│ FAIL$'
expect_out out '^Result: 1/3 passed, 2 failed$'
expect_out out '^Failures:$'
expect_out out '^  one_order × never_fires: fault bypassed'
expect_out out '^2 passed, 9 failed$'

run_fb test probabilistic.star --runs 3
expect_rc 0 "--runs 3"
expect_out out '^--- PASS: test_flaky_disk \(3/3 runs\) ---$'

# one seed, one trace: a 30% fault decided by the seed alone
for i in 1 2 3 4 5; do
  run_fb test probabilistic.star --seed 7 --normalize "p$i.norm"
  [ $rc -le 2 ] || fail "probabilistic run $i: exit $rc"
done
grep -q 'write deny(EIO)' p1.norm && ok "the 30% fault fired" || fail "no denied write in the trace"
same=1
for i in 2 3 4 5; do run_fb diff p1.norm "p$i.norm"; [ $rc -eq 0 ] || same=0; done
[ $same = 1 ] && ok "5 runs with seed 7: identical normalized traces" || fail "traces differ for one seed: $(cat "$TMP/out")"
run_fb test probabilistic.star --seed 8 --normalize q.norm
run_fb diff p1.norm q.norm
expect_rc 2 "another seed, another trace"
expect_out out '^traces differ \([0-9]+ lines?\)$'
expect_out out '^=== test_flaky_disk ===$'
expect_out out '^[-+] write (deny\(EIO\)|allow) '
run_fb diff p1.norm missing.norm
expect_rc 1 "diff of a missing file"
expect_out err 'diff: cannot read missing.norm: No such file or directory'
# --shiviz: ShiViz's header lines, one execution per test, and clocks
# ShiViz accepts: each host's own component starts at 1 and grows by one
run_fb test domain-fixed.star --test 'order_*' --shiviz run.shiviz --debug
expect_rc 0 "--shiviz and --debug"
expect_out out '^  return: struct\(.*status = 500'
if python3 - run.shiviz <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0] == r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})", lines[0]
assert lines[1] == "^=== (?<trace>.*) ===$", lines[1]
traces, i = [], 2
while i < len(lines) and lines[i]:
    m = re.match(r"^=== (.*) ===$", lines[i])
    if m:
        traces.append(m.group(1)); own = {}; i += 1; continue
    host, clock = lines[i + 1].split(" ", 1)
    clock = json.loads(clock)
    assert clock[host] == own.get(host, 0) + 1, (host, clock, own)
    own[host] = clock[host]
    i += 2
assert traces == ["test_order_cascade", "test_order_db_down", "test_order_flow", "test_order_happy"], traces
PY
then ok "ShiViz log: header, four executions, per-host clocks 1, 2, 3..."; else fail "ShiViz log malformed"; fi
run_fb test traces.star --check-determinism --test wal_is_written
expect_rc 0 "--check-determinism passes a deterministic test"
expect_out out '^--- PASS: test_wal_is_written'

# a service that exits during the test leaves a lifecycle.exited event
# (allowed: unexpected deaths are test_lifecycle.sh's)
cat >exit.star <<STAR
db = service("db", "$demo/mock-db", interface("main", "tcp", 5432), healthcheck = tcp("localhost:5432"))
t = service("t", "/bin/true", may_exit = True)
def test_exit():
    for i in range(20):
        db.main.send(data = "PING")
STAR
run_fb test exit.star --format json
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=[e for e in d["tests"][0]["events"] if e["event_type"]=="lifecycle.exited"]; assert e and e[0]["service"]=="t" and e[0]["fields"]["status"]=="0", e' "$TMP/out"; then
  ok "service_exited event with the status"; else fail "no service_exited event"; fi

# fault_scenario(timeout=) is enforced
cat >timeout.star <<STAR
db = service("db", "$demo/mock-db", interface("main", "tcp", 5432), healthcheck = tcp("localhost:5432"))
def slow():
    return fault(db, write = delay("300ms"), run = lambda: [db.main.send(data = "PING") for i in range(20)])
fault_scenario("slow", scenario = slow, timeout = "1s")
STAR
run_fb test timeout.star
expect_rc 2 "a scenario over its timeout fails"
expect_out out '^  reason: .*fault_scenario timed out after 1s \(timeout=\)$'

# registration errors name the spec position
cat >dup.star <<STAR
def probe():
    return 1
scenario(probe)
def test_probe():
    pass
STAR
run_fb test dup.star
expect_rc 1 "a test defined twice"
expect_out err 'dup.star: test test_probe is defined twice \(at dup.star:3:1 and at dup.star:4:1\)'

cat >bad-override.star <<STAR
def a():
    return 1
def b():
    return 2
x = fault_assumption("x", faults = [])
STAR
run_fb test bad-override.star
expect_rc 1 "an assumption without faults"
expect_out err 'bad-override.star:5:5: fault_assumption x: no faults given'

# a matrix of 20 cells leaves nothing behind
cat >twenty.star <<STAR
db = service("db", "$demo/mock-db", interface("main", "tcp", 5432), healthcheck = tcp("localhost:5432"))
def s1():
    return db.main.send(data = "PING")
def s2():
    return db.main.send(data = "SET k v")
def s3():
    return db.main.send(data = "GET k")
def s4():
    return db.main.send(data = "GET nothing")
faults = [fault_assumption("f%d" % i, target = db, write = delay("%dms" % i)) for i in range(1, 6)]
fault_matrix(scenarios = [s1, s2, s3, s4], faults = faults)
STAR
# (run in the background to know the runner's pid, whose cgroups are named
# faultbox-<pid>-<n>)
set +e
"$FAULTBOX" test twenty.star >"$TMP/out" 2>"$TMP/err" &
pid=$!
wait $pid
rc=$?
set -e
expect_rc 0 "a 20-cell matrix passes"
expect_out out '^Fault Matrix: 4 scenarios × 5 faults = 20 cells$'
expect_out out '^Result: 20/20 passed$'
left=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "faultbox-$pid-*" | wc -l)
[ "$left" -eq 0 ] && ok "no cgroup left after 20 cells" || fail "$left cgroups of runner $pid left"
procs=$(grep -ls "faultbox-$pid-" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)
[ "$procs" -eq 0 ] && ok "no service process left" || fail "$procs processes still in runner $pid's cgroups"
grep -q "fbtest-\|faultbox" /proc/self/mountinfo && fail "a faultbox mount is left" || ok "no mount left"
finish
