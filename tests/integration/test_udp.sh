#!/usr/bin/env bash
# UDP against a python echo in a lab: send with its reply as hex, hex=,
# send_no_reply, failures as results (no payload, bad hex, no answer);
# the proxy relays per datagram and applies drop, delay and duplicate,
# through the recipe module; rules UDP cannot apply are refused.
. "$(dirname "$0")/lib.sh"
need_root
command -v python3 >/dev/null || skip "needs python3"
prep_specs
cp "$FAULTBOX_SRC/tests/integration/specs/udp_echo.py" "$TMP/"
sed -i "s|SPECDIR|$TMP|g" "$TMP/udp.star"
cd "$TMP"

run_fb test udp.star -j 2 --format json --output report.json
expect_rc 0 "udp.star passes"
for t in send_and_reply failures_are_results drop_every_datagram delay_holds_each_datagram duplicate_sends_twice \
  mock_routes_by_prefix; do
  expect_out err "^--- PASS: test_$t "
done
if python3 - report.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ev = {t["name"]: t["events"] for t in d["tests"]}
sent = [e["fields"] for e in ev["test_send_and_reply"] if e["type"] == "step_send"]
assert [(s["method"], s.get("data"), s.get("hex")) for s in sent] == \
    [("send", "hi", None), ("send", None, "0001FF"), ("send_no_reply", "fire", None)], sent
started = [e["fields"] for e in ev["test_drop_every_datagram"] if e["type"] == "proxy_started"]
assert {(s["interface"], s["mode"]) for s in started} == {("main", "passthrough"), ("sink", "relay")}, started
px = [e["fields"] for e in ev["test_delay_holds_each_datagram"] if e["type"] == "proxy"]
assert len(px) == 1 and px[0]["action"] == "delay" and px[0]["delay_ms"] == "300", px
PY
then ok "step events, relayed and framed datagram listeners, the delay's event"; else fail "udp events"; fi

finish
