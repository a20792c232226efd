#!/usr/bin/env bash
# Postgres faults through the lab's proxy against a real PostgreSQL 15:
# error() seen by a step and by unmodified clients dialling "pg" by name
# (psql, and a libpq client of the extended query protocol: prepared
# statements, pipelining), connections that stay usable, delay, drop and
# duplicate, events and bad rules.
. "$(dirname "$0")/lib.sh"
need_root
for bin in /usr/lib/postgresql/15/bin/postgres /usr/bin/psql /usr/bin/python3; do
  [ -x "$bin" ] || skip "$bin is not installed (scripts/bootstrap installs it)"
done
id postgres >/dev/null 2>&1 || skip "no postgres user (the postgresql package creates it)"
prep_specs
cp "$FAULTBOX_SRC/tests/integration/specs/proxy_peer.py" "$FAULTBOX_BUILD/tests/helpers/pg_client" "$TMP/"
sed -i -e "s|PGSERVER|$FAULTBOX_SRC/tests/integration/specs/pg-server.sh|" -e "s|SPECDIR|$TMP|g" \
  "$TMP/pgproxy.star" "$TMP/pgproxy-errors.star"
cd "$TMP"

run_fb test pgproxy.star -j 2 --format json --normalize "$TMP/norm"
expect_rc 0 "postgres faults through the proxy"
python3 - "$TMP/out" <<'PY' && ok "every test passed; the summaries name the query" || fail "results"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [(t["name"], t.get("reason")) for t in d["tests"] if t["result"] != "pass"]
assert not bad and len(d["tests"]) == 6, bad
t = {x["name"]: x for x in d["tests"]}
applied = [e for e in t["test_insert_error_seen_by_step"]["events"] if e["type"] == "proxy_fault_applied"]
assert applied[0]["fields"]["rule"] == "proxy postgres query=insert into item values (*", applied
PY
grep -q '^proxy error INSERT INTO item VALUES (1, 0)$' "$TMP/norm" && ok "normalized trace keeps the query" \
  || fail "normalize: $(grep proxy "$TMP/norm" | head -3)"

run_fb test pgproxy-errors.star
expect_rc 2 "rules postgres cannot apply fail their tests"
expect_out out 'reason: pgproxy-errors.star:[0-9]+:5: fault: response\(\) on pg.main: the postgres proxy answers only error\(\)'
expect_out out 'reason: pgproxy-errors.star:[0-9]+:5: fault: error\(status=503\) on pg.main: a postgres error.s status is a SQLSTATE string'
expect_out out 'reason: pgproxy-errors.star:[0-9]+:5: fault: error\(path=...\) can never match on pg.main: the postgres proxy matches query=$'
finish
