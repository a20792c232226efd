#!/usr/bin/env bash
# AMQP 0-9-1 and ClickHouse in a lab. AMQP: publish, consume, declare
# through librabbitmq, credentials, ready() (a login), broker exceptions as
# results, and protocol-level rules through the proxy (drop, delay, error
# as a Connection.Close) with the recipe module, against a minimal broker
# (specs/amqp_broker.py: Debian's rabbitmq-server takes over a minute to
# boot). ClickHouse: query and exec over its HTTP interface against an
# HTTP mock_service, rules matched on the SQL.
. "$(dirname "$0")/lib.sh"
need_root
command -v python3 >/dev/null || skip "needs python3"
[ -e /usr/lib/x86_64-linux-gnu/librabbitmq.so.4 ] || ldconfig -p | grep -q librabbitmq.so.4 \
  || skip "librabbitmq is not installed (scripts/bootstrap installs librabbitmq-dev)"
prep_specs
cp "$FAULTBOX_SRC/tests/integration/specs/amqp_broker.py" "$TMP/"
sed -i "s|SPECDIR|$TMP|g" "$TMP/amqp.star"
cd "$TMP"

run_fb test amqp.star -j 2 --format json --output report.json
expect_rc 0 "amqp.star passes"
for t in amqp_publish_and_consume amqp_broker_errors_are_results amqp_drop_discards_the_publish \
  amqp_error_closes_the_connection amqp_delay_holds_the_publish clickhouse_query_and_exec \
  clickhouse_rules_match_the_sql; do
  expect_out err "^--- PASS: test_$t "
done
if python3 - report.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ev = {t["name"]: t["events"] for t in d["tests"]}
sent = [e["fields"] for e in ev["test_amqp_publish_and_consume"] if e["type"] == "step_send"]
assert {"method": "publish", "routing_key": "orders", "body": '{"id":1}'}.items() <= sent[1].items(), sent
px = [e["fields"] for e in ev["test_amqp_delay_holds_the_publish"] if e["type"] == "proxy"]
assert len(px) == 1 and px[0]["action"] == "delay" and px[0]["delay_ms"] == "300", px
recv = [e["fields"] for e in ev["test_clickhouse_query_and_exec"] if e["type"] == "step_recv"]
assert recv[0]["rows"] == "1", recv
PY
then ok "step and proxy events name the routing key, the rows"; else fail "amqp events"; fi

finish
