#!/usr/bin/env bash
# Protocol steps and ready() healthchecks against real servers in a lab:
# Debian's redis-server, PostgreSQL 15 (specs/pg-server.sh) and nginx.
# Every step method, server errors as ok=False results, credentials from
# env= (REDIS_PASSWORD, REDIS_USER, POSTGRES_*), ready() that speaks the
# protocol. A missing server is a skip (a failure under FAULTBOX_REQUIRE_ALL=1).
. "$(dirname "$0")/lib.sh"
need_root
for bin in /usr/bin/redis-server /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/initdb \
  /usr/sbin/nginx; do
  [ -x "$bin" ] || skip "$bin is not installed (scripts/bootstrap installs it)"
done
command -v setpriv >/dev/null || skip "setpriv is not installed"
id postgres >/dev/null 2>&1 || skip "no postgres user (the postgresql package creates it)"
prep_specs
cd "$TMP"
nginx_conf "$TMP/nginx.conf" "web up"
for f in protocols.star protocols-defaults.star; do
  sed -i -e "s|PGSERVER|$FAULTBOX_SRC/tests/integration/specs/pg-server.sh|" -e "s|NGINXCONF|$TMP/nginx.conf|" "$f"
done

run_fb test protocols.star -j 2 --format json --output report.json
expect_rc 0 "redis, postgres and http steps against real servers"
for t in redis_strings redis_lists_and_keys redis_command redis_server_error_is_a_result \
  redis_password_argument_wins_over_env redis_acl_user_from_env postgres_exec_and_query \
  postgres_credentials_from_env postgres_server_error_is_a_result http_ready; do
  expect_out err "^--- PASS: test_$t "
done
expect_out err '^10 passed, 0 failed$'
# the step events say what went out and what came back, failures included
if python3 - report.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ev = {t["name"]: t["events"] for t in d["tests"]}
recv = [e["fields"] for e in ev["test_redis_server_error_is_a_result"] if e["type"] == "step_recv"]
assert {"target": "kv", "method": "incr", "success": "false",
        "error": "read: redis error: ERR value is not an integer or out of range"}.items() <= recv[1].items(), recv
sent = [e["fields"] for e in ev["test_postgres_exec_and_query"] if e["type"] == "step_send"]
assert sent[0]["method"] == "exec" and sent[0]["sql"].startswith("CREATE TABLE item"), sent[0]
recv = [e["fields"] for e in ev["test_postgres_exec_and_query"] if e["type"] == "step_recv"]
assert recv[1]["rows_affected"] == "2" and recv[2]["rows"] == "2", recv
ready = [e for e in ev["test_redis_strings"] if e["type"] == "service_ready"]
assert {e["service"] for e in ready} == {"kv", "acl", "pg", "web"}, ready
PY
then ok "step_send/step_recv events carry method, sql, rows, errors; every ready() passed"; else fail "step events"; fi

run_fb test protocols-defaults.star
expect_rc 0 "postgres without POSTGRES_* env: user postgres, trust"
expect_out out '^--- PASS: test_postgres_default_user '

run_fb test protocols-not-ready.star
expect_rc 2 "ready() authenticates: a wrong REDIS_PASSWORD is never ready"
expect_out out 'reason: failed to start services: service kv not ready after 1s \(healthcheck ready redis localhost:6379: redis AUTH rejected: -WRONGPASS invalid username-password pair or user is disabled\.\)'

finish
