#!/usr/bin/env bash
# specs/examples against the real servers they name: MariaDB behind the
# mysql proxy, and the etcd cluster
# (Debian's etcd-server) under partition, crash, restart and pause, waiting
# on what etcd logs. Every test must pass, under two seeds (EXAMPLE_SEEDS).
. "$(dirname "$0")/lib.sh"
need_root
[ -x /usr/bin/etcd ] || skip "etcd-server is not installed (scripts/bootstrap installs it)"
cd "$TMP"

for seed in ${EXAMPLE_SEEDS:-1 2}; do
  run_fb test "$FAULTBOX_SRC/specs/examples/etcd-cluster.star" --seed $seed --format json --output etcd.json
  expect_rc 0 "etcd-cluster.star, seed $seed"
  for t in replicated_write minority_member_is_cut_off killed_follower_restarts_with_its_data \
           killed_leader_is_replaced paused_member_catches_up; do
    expect_out err "^--- PASS: test_$t \("
  done
  expect_out err '^5 passed, 0 failed$'
done
# the waits are on etcd's own log lines, decoded as events
python3 - etcd.json <<'PY' && ok "the tests waited on etcd's JSON log" || fail "no observed etcd log events"
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in d["tests"]}["test_minority_member_is_cut_off"]
msgs = [e["fields"].get("msg", "") for e in t["events"] if e["type"] == "stderr" and e["service"] == "e3"]
assert any("lost leader" in m for m in msgs) and any("elected leader" in m for m in msgs), msgs[:5]
assert any(e["type"] == "partition_applied" for e in t["events"])
PY

# MariaDB behind the mysql proxy (Debian's mariadb-server)
if [ -x /usr/sbin/mariadbd ]; then
  run_fb test "$FAULTBOX_SRC/specs/examples/mariadb-orders.star" -j 2
  expect_rc 0 "mariadb-orders.star"
  expect_out out '^2 passed, 0 failed$'
elif [ "${FAULTBOX_REQUIRE_ALL:-0}" = 1 ]; then
  fail "mariadb-server is not installed (scripts/bootstrap installs it)"
else
  echo "skip: mariadb-orders.star: mariadb-server is not installed (scripts/bootstrap installs it)"
fi
finish
