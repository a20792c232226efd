#!/usr/bin/env bash
# specs/examples/cache-aside.star: our cache-aside demo service against
# Debian's real redis-server and PostgreSQL 15, with protocol faults from
# the lab's proxy (redis READONLY, a failed INSERT, a slow SELECT) and a
# fault_matrix over them. Every test and every cell must pass.
. "$(dirname "$0")/lib.sh"
need_root
for bin in /usr/bin/redis-server /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/initdb; do
  [ -x "$bin" ] || skip "$bin is not installed (scripts/bootstrap installs it)"
done
id postgres >/dev/null 2>&1 || skip "no postgres user (the postgresql package creates it)"
# one initdb for the run: each of the 9 postgres copies its datadir (the
# spec's directory, $TMP, is bound read-only into the services)
cp "$FAULTBOX_SRC/specs/examples/pg-server.sh" "$TMP/"
walkable_root
"$TMP/pg-server.sh" template "$TMP/pgtemplate" || { fail "pg-server.sh template"; finish; }
sed -e "s|\.\./\.\./build/src/demo|$FAULTBOX_BUILD/src/demo|" -e "s|^PG_TEMPLATE = \"\"|PG_TEMPLATE = \"$TMP/pgtemplate\"|" \
  "$FAULTBOX_SRC/specs/examples/cache-aside.star" >"$TMP/cache-aside.star"
grep -q "^PG_TEMPLATE = \"$TMP/pgtemplate\"" "$TMP/cache-aside.star" || fail "the spec's PG_TEMPLATE line moved"
cd "$TMP"

run_fb test cache-aside.star -j 2 --format json --output cache.json
expect_rc 0 "cache-aside.star"
expect_out err '^Result: 6/6 passed$'
expect_out err '^9 passed, 0 failed$'
for t in read_fills_the_cache readonly_redis_still_serves_from_postgres slow_query_then_fast_from_cache \
         matrix_write_item_insert_fails matrix_write_item_redis_readonly; do
  expect_out err "^--- PASS: test_$t \("
done
# the faults reached the service through its own connections, not the test's
python3 - cache.json <<'PY' && ok "the proxy's events name the service and the statement" || fail "proxy events"
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["tests"]}
def fired(name):
    return [e["fields"] for e in t[name]["events"] if e["type"] == "proxy"]
e = fired("test_matrix_write_item_insert_fails")
assert [(f["action"], f["from"]) for f in e] == [("error", "app")], e
assert e[0]["query"].startswith("INSERT INTO item (id, name) VALUES ($1::int, $2)"), e
e = fired("test_slow_query_then_fast_from_cache")
assert [(f["action"], f["delay_ms"]) for f in e] == [("delay", "500")], e
PY
finish
