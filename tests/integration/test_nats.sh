#!/usr/bin/env bash
# NATS against Debian's nats-server in a lab: publish, subscribe, request
# (a python responder, and no responders), credentials, ready(); and
# protocol-level rules through the proxy (drop, delay, error as a server
# -ERR line, duplicate) matched by subject, with the recipe module.
. "$(dirname "$0")/lib.sh"
need_root
[ -x /usr/sbin/nats-server ] || skip "/usr/sbin/nats-server is not installed (scripts/bootstrap installs it)"
command -v python3 >/dev/null || skip "needs python3"
prep_specs
cp "$FAULTBOX_SRC/tests/integration/specs/nats_echo.py" "$TMP/"
sed -i "s|SPECDIR|$TMP|g" "$TMP/nats.star"
cd "$TMP"

run_fb test nats.star -j 2 --format json --output report.json
expect_rc 0 "nats.star passes"
for t in publish subscribe_gets_a_publish request_reply request_without_responders_fails credentials \
  drop_discards_the_publish delay_holds_the_publish error_is_a_server_err_line duplicate_publishes_twice \
  requests_through_the_proxy delay_holds_the_delivery_too; do
  expect_out err "^--- PASS: test_$t "
done
if python3 - report.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ev = {t["name"]: t["events"] for t in d["tests"]}
sent = [e["fields"] for e in ev["test_publish"] if e["type"] == "step_send"]
assert {"method": "publish", "subject": "orders.new", "data": '{"id":1}'}.items() <= sent[0].items(), sent
recv = [e["fields"] for e in ev["test_credentials"] if e["type"] == "step_recv"]
assert recv[1]["success"] == "false" and "Authorization Violation" in recv[1]["error"], recv
px = [e["fields"] for e in ev["test_delay_holds_the_publish"] if e["type"] == "proxy"]
assert len(px) == 1 and px[0]["action"] == "delay" and px[0]["delay_ms"] == "300", px
PY
then ok "step and proxy events name the subject"; else fail "nats events"; fi

finish
