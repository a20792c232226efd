#!/usr/bin/env bash
# Protocol-level faults through the lab's proxy: an unmodified service with
# hard-wired names meets HTTP and RESP faults (error, delay, drop, a rule
# switched on over an open keep-alive connection, pipelined commands), a
# partition that cuts the proxied traffic between two services,
# probabilities replay by seed, matrices apply rules=, and bad rules fail
# with clear reasons.
. "$(dirname "$0")/lib.sh"
need_root
command -v redis-server >/dev/null || skip "needs redis-server (apt-get install redis-server)"
command -v python3 >/dev/null || skip "needs python3"
prep_specs
cp "$FAULTBOX_SRC/tests/integration/specs/proxy_peer.py" "$TMP/"
sed -i "s|SPECDIR|$TMP|g" "$TMP/proxy.star" "$TMP/proxy-errors.star"
cd "$TMP"

run_fb test proxy.star --format json --normalize "$TMP/norm1"
expect_rc 0 "proxy.star passes"
python3 - "$TMP/out" <<'PY' && ok "events, sources and summaries of protocol rules" || fail "proxy events"
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in d["tests"]}
def evs(name, typ):
    return [e for e in t[name]["events"] if e["type"] == typ]
# only the interfaces with rules are framed; their services' others relayed
started = {(e["service"], e["fields"]["interface"], e["fields"]["mode"]) for e in evs("test_error_503_seen_by_caller", "proxy_started")}
assert started == {("api", "public", "passthrough"), ("backend", "main", "passthrough"), ("cache", "main", "passthrough")}, started
applied = evs("test_error_503_seen_by_caller", "proxy_fault_applied")
assert len(applied) == 1 and applied[0]["fields"]["rule"] == "proxy http method=POST path=/data/*", applied
assert applied[0]["fields"]["proxy"].startswith("10.213.1."), applied
fired = evs("test_error_503_seen_by_caller", "proxy")
assert [(e["fields"]["from"], e["fields"]["path"]) for e in fired] == [("caller", "/data/k1"), ("test", "/data/k2")], fired
removed = evs("test_error_503_seen_by_caller", "proxy_fault_removed")
assert removed[0]["fields"]["hits"] == "2", removed
f = t["test_never_matched_rule_is_reported"]["faults"]
assert f[0]["hits"] == 0 and "no message to api.public matched" in f[0]["hint"], f
m = t["test_matrix_write_a_cache_readonly"]
assert [e["fields"].get("assumption") for e in evs("test_matrix_write_a_cache_readonly", "proxy_fault_applied")] == ["cache_readonly"]
r = evs("test_redis_readonly_error_through_name", "proxy")
assert r[0]["fields"]["error"].startswith("READONLY") and r[0]["fields"]["from"] == "caller", r
PY
expect_out err 'fault rule on api: public=error\(500\) → filter:\[proxy http method=DELETE\] \(0 hits\)'
expect_out err 'hint: no message to api.public matched proxy http method=DELETE while the rule was installed'
grep -q '^proxy error POST /data/k1$' "$TMP/norm1" && ok "normalized trace keeps proxy decisions" || fail "normalize: $(grep proxy "$TMP/norm1" | head -3)"

# the same seed draws the same probabilistic decisions, another seed others
pattern() { python3 -c 'import json,sys; print([t["return_value"] for t in json.load(open(sys.argv[1]))["tests"]][0])' "$TMP/out"; }
run_fb test proxy.star --test test_probability_by_seed --seed 7 --format json; a=$(pattern)
run_fb test proxy.star --test test_probability_by_seed --seed 7 --format json; b=$(pattern)
run_fb test proxy.star --test test_probability_by_seed --seed 8 --format json; c=$(pattern)
[ "$a" = "$b" ] && [ "$a" != "$c" ] && ok "probability replays by seed ($a / $c)" || fail "probability: seed 7 gave $a then $b, seed 8 $c"

run_fb test proxy-errors.star
expect_rc 2 "bad protocol rules fail their tests"
expect_out out 'reason: proxy-errors.star:14:5: fault: error\(query=...\) can never match on cache.main: the redis proxy matches command= and key=$'
expect_out out 'reason: proxy-errors.star:17:5: fault: db.main is a tcp interface: protocol-level rules need a protocol the proxy can frame \(http, redis, postgres, mysql, memcached, http2, grpc, nats, udp, mongodb, kafka, amqp, clickhouse\)'
expect_out out 'reason: proxy-errors.star:20:5: fault\(interface_ref, ...\) requires at least one protocol fault'
expect_out out 'reason: proxy-errors.star:23:5: fault\(interface_ref, ...\) arguments must be response\(\)/error\(\)/drop\(\)/duplicate\(\)/delay\(delay=...\), got fault$'
expect_out out '^--- PASS: test_syscall_delay_still_works'

# a spec without protocol rules runs no proxy: services keep their addresses
run_fb test first-test.star --format json --test test_ping
expect_rc 0 "first-test.star passes"
grep -q proxy_started "$TMP/out" && fail "a spec without protocol rules started a proxy" || ok "no proxy without protocol rules"
finish
