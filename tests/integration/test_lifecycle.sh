#!/usr/bin/env bash
# The lifecycle nemesis on real processes: kill, restart (files kept, the
# listener and healthcheck again), pause and resume (the cgroup freezer),
# crash=/restart= in a fault_matrix, unexpected deaths failing the test,
# observe= decoders seen by assertions and monitors, user=; nothing left.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
cd "$TMP"
[ -e /sys/fs/cgroup/unified/cgroup.subtree_control ] || [ -e /sys/fs/cgroup/cgroup.subtree_control ] \
  || skip "no cgroup v2 hierarchy (pause needs its freezer)"

run_fb test lifecycle.star --format json --output life.json
expect_rc 2 "lifecycle.star: its failing tests fail"
for t in kill_sigterm observe pause_queues_until_resume pause_run_scope restart_keeps_files user; do
  expect_out err "^--- PASS: test_$t "
done
# kill: the step after it fails; the exit it caused is no unexpected death
expect_out err '^--- FAIL: test_kill_then_step_fails '
expect_out err 'reason: lifecycle.star:[0-9]+:5: db.main.send: tcp send to [0-9.]+:5432 failed: connect: .*\(service db\)$'
# pause: a step to a frozen service gets no reply
expect_out err '^--- FAIL: test_pause_times_out '
expect_out err 'reason: lifecycle.star:[0-9]+:5: db.main.send: .*no reply within 10000ms \(service db\)$'
# a monitor sees the decoded output: db's SET error under the open() fault
expect_out err '^--- FAIL: test_monitor_sees_output '
expect_out err 'reason: monitor violation: db logged an error: SET$'
if python3 - "$TMP/life.json" <<'PY'
import json, sys
d = {t["name"]: t for t in json.load(open(sys.argv[1]))["tests"]}
def evs(t, typ): return [e for e in d[t]["events"] if e["type"] == typ]
k = evs("test_kill_then_step_fails", "service_killed")
assert k and k[0]["event_type"] == "lifecycle.killed" and k[0]["fields"]["signal"] == "SIGKILL", k
x = evs("test_kill_then_step_fails", "service_exited")
assert x[0]["fields"] == {"status": "137", "expected": "true", "signal": "SIGKILL"}, x
assert "during the test" not in d["test_kill_then_step_fails"]["reason"]
r = evs("test_restart_keeps_files", "service_restarted")
assert [e["service"] for e in r] == ["db", "boots", "boots"], r
assert len(set(e["fields"]["pid"] for e in r)) == 3
# the restarted service's new listener and healthcheck: ready again
assert len([e for e in evs("test_restart_keeps_files", "service_ready") if e["service"] == "db"]) == 2
assert [e["fields"]["boots"] for e in evs("test_restart_keeps_files", "stdout") if e["service"] == "boots"] == ["0", "1", "2"]
p = [e["type"] for e in d["test_pause_run_scope"]["events"] if e["type"] in ("service_paused", "service_resumed")]
assert p == ["service_paused", "service_resumed"], p
o = evs("test_observe", "stdout")
assert any(e["fields"].get("op") == "PING" and json.loads(e["fields"]["data"])["status"] == "ok" for e in o), o
s = [e for e in evs("test_observe", "stderr") if e["service"] == "boots"]
assert s[0]["fields"] == {"level": "warn", "msg": "disk low", "pct": "91",
                          "data": '{"level":"warn","msg":"disk low","pct":"91"}'}, s
u = [e["fields"]["raw"] for e in evs("test_user", "stdout") if e["service"] == "who"]
assert u == ["uid=65534 gid=65534", "wrote"], u
PY
then ok "lifecycle events and decoded output in the JSON report"; else fail "lifecycle JSON"; fi

# unexpected deaths: status and output, a signal by name; may_exit= allows
run_fb test lifecycle-death.star --format json --output death.json
expect_rc 2 "a service dying on its own fails the test"
expect_out err 'reason: service dier exited with status 3 during the test \(nothing killed it; service\(may_exit=True\) allows it\); its last output: about to die \| bye$'
if python3 - "$TMP/death.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["tests"][0]
x = {e["service"]: e["fields"] for e in t["events"] if e["type"] == "service_exited"}
assert x["dier"] == {"status": "3", "expected": "false"}, x
assert x["segv"] == {"status": "139", "expected": "false", "signal": "SIGSEGV"}, x
assert x["allowed"] == {"status": "0", "expected": "true"}, x
PY
then ok "service_exited: status, signal, expected"; else fail "death events"; fi
sed -e 's/^dier = .*$//' -e 's/^segv = .*$//' -e 's/>= 3/>= 1/' lifecycle-death.star >allowed.star
run_fb test allowed.star
expect_rc 0 "may_exit=True: the exit is no failure"

# the nemesis inside fault_assumption: a matrix crossing crash= and restart=
run_fb test lifecycle-matrix.star
expect_rc 0 "lifecycle-matrix.star passes"
expect_out out '^order_flow +│ PASS \([0-9]+ms\) +│ PASS \([0-9]+ms\)$'
expect_out out '^Result: 4/4 passed$'

# an HTML report draws the new lifecycle marks
run_fb test lifecycle.star --test test_pause_run_scope --html life.html
expect_rc 0 "pause(run=) passes"
grep -q 'paused' life.html && ok "html: paused" || fail "html lacks the pause"

[ -z "$(dead_faultbox_cgroups)" ] || fail "cgroups left behind: $(dead_faultbox_cgroups)"
pgrep -f "$TMP/.*lifecycle" >/dev/null && fail "a service outlived its test"
finish
