#!/usr/bin/env bash
# faultbox doctor reports features as ok/missing with reasons, text and JSON.
. "$(dirname "$0")/lib.sh"
need_root

run_fb doctor --format json
expect_rc 0 "doctor --format json on a machine with the core features"
python3 - "$TMP/out" <<'PY' && ok "doctor JSON parses and has every feature" || fail "doctor JSON invalid"
import json, sys
d = json.load(open(sys.argv[1]))
names = {f["name"]: f for f in d["features"]}
for n in ["namespace.mount", "namespace.net", "namespace.pid", "namespace.uts", "namespace.ipc",
          "seccomp.user_notif", "cgroup.v2", "cgroup.kill", "link.veth", "link.bridge",
          "qdisc.netem", "qdisc.htb", "nftables", "privileges.root"]:
    assert n in names, n
    assert isinstance(names[n]["ok"], bool) and names[n]["detail"], n
assert d["core_ok"] is True
for f in d["features"]:
    if f["required"]:
        assert f["ok"], f
PY
# netem's state must match what the kernel really offers (modprobe-able or built in).
netem_json=$(python3 -c 'import json,sys; print([f["ok"] for f in json.load(open(sys.argv[1]))["features"] if f["name"]=="qdisc.netem"][0])' "$TMP/out")
if modinfo sch_netem >/dev/null 2>&1 || grep -qw netem /proc/net/psched 2>/dev/null; then have=True; else have=False; fi
[ "$netem_json" = "$have" ] && ok "netem reported as $netem_json, kernel module present: $have" || fail "netem reported $netem_json but modinfo says $have"

run_fb doctor
expect_rc 0 "doctor text"
expect_out out '^ok +namespace\.net '
expect_out out '^(ok|missing) +qdisc\.netem '
expect_out out 'faultbox can run here'

run_fb doctor --format yaml
expect_rc 1 "unknown format"
expect_out err 'unknown format "yaml"'

# Nothing left behind by the probes.
if ls /sys/fs/cgroup/unified/faultbox-probe-* /sys/fs/cgroup/faultbox-probe-* >/dev/null 2>&1; then fail "probe cgroup left behind"; else ok "no probe cgroup left"; fi
finish
