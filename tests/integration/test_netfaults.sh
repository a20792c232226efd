#!/usr/bin/env bash
# Partitions and link faults from specs: the chapter 16 tutorial against the
# demo services, events and leaks, clear reasons for bad calls, and nothing
# left in the host's network state afterwards.
. "$(dirname "$0")/lib.sh"
need_root
command -v nft >/dev/null || skip "needs nft (apt-get install nftables)"
prep_specs
cd "$TMP"
netns_before=$(ip netns list | sort)

# chapter 16: a partitioned inventory call times out (order-svc gives it 2 s),
# so each test with a partitioned order takes at least 2 s and gets a 503
run_fb test partitions.star
expect_rc 0 "partitions.star passes"
for t in partition_returns_error partition_reserves_nothing recovery_after_partition one_way_partition partition_start_stop; do
  expect_out out "^--- PASS: test_$t \((19[5-9][0-9]|[2-9][0-9]{3}|[1-9][0-9]{4})ms, seed=0\) ---$"
done
expect_out out '^--- PASS: test_one_way_refused \([0-9]+ms, seed=0\) ---$'
expect_out out 'fault rule on orders: connect=deny\(ECONNREFUSED\) → filter:\[connect\] label="one-way partition" \([1-9]'
expect_out out '^6 passed, 0 failed$'

# events, a leak the next test does not see, groups, link faults
netem=$("$FAULTBOX" doctor --format json | python3 -c 'import json,sys; print([f["ok"] for f in json.load(sys.stdin)["features"] if f["name"]=="qdisc.netem"][0])')
run_fb test netfaults.star --format json --seed 5
if [ "$netem" = True ]; then
  expect_rc 0 "netfaults.star passes with sch_netem"
else
  expect_rc 2 "netfaults.star: only the delay tests fail without sch_netem"
  expect_out err '^5 passed, 2 failed$'
fi
python3 - "$TMP/out" "$netem" <<'PY' && ok "events: applied/removed/leaked, link faults per direction" || fail "events"
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["name"]: x for x in d["tests"]}
def ev(name, *types):
    return [(e["type"], e["service"], e.get("fields", {})) for e in t[name]["events"] if e["type"] in types]
leak = ev("test_a_leaks_a_partition", "partition_applied", "partition_removed", "partition_leaked")
assert [x[0] for x in leak] == ["partition_applied", "partition_leaked"], leak
assert leak[0][2] == {"between": "orders,inventory", "direction": "b_to_a"}, leak
assert t["test_a_leaks_a_partition"]["result"] == "pass"
assert t["test_b_after_the_leak"]["result"] == "pass" and not ev("test_b_after_the_leak", "partition_applied", "partition_leaked")
g = ev("test_groups", "partition_applied", "partition_removed")
assert [x[0] for x in g] == ["partition_applied", "partition_removed"] and int(g[1][2]["duration_ms"]) >= 1900, g
links = ev("test_link_rate", "link_fault_applied", "link_fault_removed")
assert [(x[0], x[1]) for x in links] == [("link_fault_applied", "inventory"), ("link_fault_applied", "orders"),
                                         ("link_fault_removed", "test")], links
assert links[0][2]["params"] == "rate=1mbit" and "seed" not in links[0][2], links
assert (links[0][2]["from"], links[0][2]["to"]) == ("orders", "inventory"), links
one = ev("test_link_rate_start_stop", "link_fault_applied", "link_fault_removed", "link_fault_leaked")
assert [x[0] for x in one] == ["link_fault_applied", "link_fault_removed"] and one[0][2]["direction"] == "a_to_b", one
delay, ge = t["test_link_delay"], t["test_link_gemodel_rate_delay"]
if sys.argv[2] == "True":
    # the seed is recorded where the kernel takes it (6.6 on)
    import platform
    seeds = [e["fields"].get("seed") for e in delay["events"] if e["type"] == "link_fault_applied"]
    if tuple(int(x) for x in platform.release().split(".")[:2]) >= (6, 6):
        assert len(seeds) == 2 and None not in seeds and len(set(seeds)) == 2, seeds
    else:
        assert seeds == [None, None], seeds
    applied = [e["fields"] for e in ge["events"] if e["type"] == "link_fault_applied"]
    assert [(x["from"], x["to"]) for x in applied] == [("orders", "inventory")], applied
    assert applied[0]["params"] == "delay=20ms loss=gemodel(p=1%,r=90%,1-h=100%,1-k=0%) rate=10mbit", applied
else:
    for d in (delay, ge):
        assert d["result"] == "fail", d
        assert d["reason"].endswith("link_fault: kernel lacks sch_netem: link delay/loss unavailable (faultbox doctor)"), d["reason"]
        assert not [e for e in d["events"] if e["type"].startswith("link_fault")], d["events"]
PY

run_fb test netfault-errors.star
expect_rc 2 "bad network fault calls fail their tests"
expect_out out 'reason: netfault-errors.star:16:5: partition: direction must be "both", "a_to_b" or "b_to_a", got "sideways"$'
expect_out out 'reason: netfault-errors.star:19:5: partition: inventory is on both sides$'
expect_out out 'reason: netfault-errors.star:22:5: partition: unexpected keyword argument duration'
expect_out out 'reason: netfault-errors.star:25:5: partition_stop: nothing open between orders,inventory \(partition_start was not called for them\)$'
expect_out out 'reason: netfault-errors.star:29:5: partition_start: inventory,orders are already partitioned \(call partition_stop first\)$'
expect_out out 'reason: netfault-errors.star:32:5: partition: run= must be a function .*got int$'
expect_out out 'reason: netfault-errors.star:35:5: link_fault: nothing to impair'
expect_out out 'reason: netfault-errors.star:39:5: link_fault: the link orders -> inventory is already impaired'
expect_out out 'reason: netfault-errors.star:42:5: link_fault\(loss=\): probability: .*150%'
expect_out out 'reason: netfault-errors.star:45:5: link_fault: reorder= needs delay='
expect_out out 'reason: netfault-errors.star:48:5: link_fault\(loss=\): gemodel needs p, '
expect_out out 'reason: netfault-errors.star:51:5: link_fault\(loss=\): gemodel r: '
expect_out out 'reason: netfault-errors.star:54:5: link_fault\(loss=\): gemodel takes at most 4 probabilities \(p r 1-h 1-k\), got "gemodel 1% 10% 100% 0% 5%"$'
expect_out out '^0 passed, 13 failed$'

# the host's network is as it was: the labs' namespaces took their tables along
if nft list tables 2>/dev/null | grep -q faultbox; then fail "an nft faultbox table is left in the host namespace"; else ok "no nft table in the host namespace"; fi
[ "$(ip netns list | sort)" = "$netns_before" ] && ok "no named network namespace left" || fail "ip netns changed: $(ip netns list)"
if ip -o link | grep -q 'fbv\|fbbr'; then fail "lab links in the host namespace"; else ok "no lab link in the host namespace"; fi
[ -z "$(dead_faultbox_cgroups)" ] || fail "cgroups left behind: $(dead_faultbox_cgroups)"
finish
